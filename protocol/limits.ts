// Bounds on what a job may ask for. One place, so the API, the provider and
// the docs agree on them.
export const jobLimits = {
  maxGpus: 16,
  maxGpuVramMb: 262_144,
  minCpus: 0.1,
  maxCpus: 256,
  minMemoryMb: 16,
  maxMemoryMb: 2_097_152,
  minTimeoutS: 1,
  maxTimeoutS: 86_400,
  defaultMatchTimeoutS: 600,
  maxMatchTimeoutS: 86_400,
  maxEnvVars: 128,
  maxEnvBytes: 32 * 1024,
  /** Secret variables (`secrets`): named in the spec, their values sent beside it and never shown again. */
  maxSecrets: 16,
  minSecretChars: 4,
  maxSecretBytes: 4096,
  maxCmdArgs: 256,
  maxCmdBytes: 64 * 1024,
  maxInputFiles: 64,
  maxInputBytes: 512 * 1024,
  /** Files that travel beside the spec (`input_files`), peer to peer or through the R2 relay. */
  maxInputFileEntries: 10_000,
  /** Their total: 16 GiB, what a provider's disk and a creator's upload should bear for one job. */
  maxInputFilesBytes: 16 * 1024 * 1024 * 1024,
  /** Distinct earlier jobs a spec's input files may come from (`from`): each is read and linked in one D1 statement, which binds at most 100 values. */
  maxSourceJobs: 32,
  maxPathLength: 255,
  /** The furthest an authorization's deadline may be (worker/chain/authorization.ts): funds are not held longer by one job. */
  maxAuthorizationS: 30 * 86_400,
  maxImageLength: 512,
  /** Jobs one batch create may hold (POST /v1/jobs/batch): a sweep's whole grid (cli/sweep/grid.ts), admitted together. */
  maxBatchJobs: 100,
} as const;

/** Checkpoints (protocol/checkpoint.ts). */
export const checkpointLimits = {
  /** Files one checkpoint may hold: a model, an optimizer, a sampler state, a few shards. */
  maxFiles: 64,
  /** How often a provider may save one, at most; the hub refuses them closer together. */
  minIntervalS: 10,
  defaultIntervalS: 60,
  maxIntervalS: 3600,
} as const;

/** Labels on a job (protocol/labels.ts): a few short names, the creator's own. */
export const labelLimits = {
  maxLabels: 16,
  maxKeyLength: 63,
  maxValueLength: 128,
  /** `label=` filters one listing may combine (every one must match). */
  maxFilters: 4,
} as const;

/** Metrics a job reports in its output (protocol/reportedMetrics.ts): what its room keeps of them. */
export const reportedMetricLimits = {
  /** Names one job may report; a line naming more is ignored whole and counted. */
  maxNames: 32,
  maxNameLength: 64,
  /** A metric line longer than this is ignored (an ordinary log line can be anything). */
  maxLineChars: 4096,
  /** Points kept a name: past it every other point is let go, the newest kept, so a long run stays its whole curve. */
  maxPointsPerName: 1000,
  /** The highest step: a quadrillion (tokens seen, say), far inside what every JSON reader keeps exact. */
  maxStep: 1e15,
} as const;

/** Largest request body the API reads. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Most files a job may leave in /outputs: the manifest's bound, checked by the provider too. */
export const MAX_OUTPUT_FILES = 10_000;

/** Longest free-text fields in provider → hub messages (protocol/hubMessages.ts). */
export const hubMessageLimits = {
  resultError: 2000,
  resultWarning: 500,
  statusDetail: 500,
  declineReason: 500,
} as const;

/**
 * What one job's log may cost at each hop (docs/architecture.md, "log streaming"): the daemon
 * forwards within a budget, the job's room keeps a bounded buffer, a follower that lags is cut.
 * Sizes count characters of the log's text (one per byte for ASCII output). Why these numbers:
 */
export const logLimits = {
  /** About 400 lines of 80 characters a second: more than anyone reads live, and 2 messages a second per flooding job for its hub. */
  forwardBytesPerSecond: 32 * 1024,
  /** Sent without waiting: a short job's whole output, or the start of a long one. */
  forwardBurstBytes: 128 * 1024,
  /** One `job.log` message as the daemon sends it: the budget in two messages a second. */
  forwardChunkBytes: 16 * 1024,
  /**
   * The newest output a daemon holds unsent (its backlog while disconnected, the log's end while
   * flooded). Output is dropped only before it, and it is sent whole when the job ends, so the
   * log's last 64 KiB are exact: more than the tail stored on the job (storedTailBytes).
   */
  forwarderTailBytes: 64 * 1024,
  /** The most one `job.log` message may carry (what the hub accepts). */
  messageChars: 64 * 1024,
  /**
   * What a job's room keeps for followers to resume from (Last-Event-ID): eight seconds at the
   * budget, and more than the most a daemon sends at once (its burst and its tail, 192 KiB).
   */
  roomBufferBytes: 256 * 1024,
  /**
   * How far a live follower may fall behind before it is cut: above a full resume (the room's
   * buffer) and a daemon's largest burst together, so only a follower that stopped reading is cut.
   */
  followerLagBytes: 512 * 1024,
  /** Live followers per job: with the lag bound, at most 8 MiB of queued events per room. */
  roomFollowers: 16,
  /** The tail of the log kept on the job (`logs`). */
  storedTailBytes: 16 * 1024,
  /** The reconnection delay the stream asks of EventSource clients (`retry:`). */
  sseRetryMs: 1_000,
} as const;
