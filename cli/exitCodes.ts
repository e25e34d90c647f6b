// What `pond` exits with, so scripts can tell outcomes apart (docs/cli.md lists them too).
export const exitCodes = {
  /** Done; a job that was waited for succeeded. */
  ok: 0,
  /** A job that was waited for ended failed, canceled or timed out. */
  jobUnsuccessful: 1,
  /** `pond verify`: the two folders of outputs differ under the comparison. */
  outputsDiffer: 1,
  /** A flag or argument is wrong; the message says which and how to fix it. */
  usage: 2,
  /** Not logged in, or the API key is unknown or revoked (HTTP 401/403). */
  unauthorized: 3,
  /** The job, template, webhook or key does not exist, or is not yours (HTTP 404). */
  notFound: 4,
  /** The API refused the request (409, 402, 413, 422…); the message says why. */
  refused: 5,
  /** The API or the chain's RPC could not be reached, or failed (HTTP 5xx). */
  unreachable: 6,
  /** This machine lacks something: a Docker engine, a readable key file, a writable folder. */
  environment: 7,
  /** A transaction reverted or the chain refused it. */
  chain: 8,
  /** A downloaded output does not match the sha256 its manifest names; it was not kept. */
  integrity: 9,
  /** A bug in pond: rerun with POND_DEBUG=1 and report what it prints. */
  internal: 70,
} as const;

export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** The table `pond --help` ends with. */
export const exitCodeHelp = `
Exit codes:
  0   done (and a job waited for succeeded)
  1   a job waited for ended failed, canceled or timed out; pond verify: the outputs differ
  2   a flag or argument is wrong
  3   not logged in, or the API key is unknown or revoked
  4   not found (or not yours)
  5   refused by the API (the message says why)
  6   the API or the chain cannot be reached
  7   something is missing on this machine (Docker engine, key file, folder)
  8   a transaction reverted
  9   a downloaded output did not match its manifest's sha256 (not kept)
  70  a bug in pond (rerun with POND_DEBUG=1)
With --json, results go to stdout as JSON, and errors to stderr as {"error": {...}}.`;
