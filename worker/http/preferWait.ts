// `Prefer: wait=N` (RFC 7240): hold a create until the job finishes or N seconds pass.
export const MAX_WAIT_S = 60;

/** The wait asked for, clamped to 60 s, or undefined when none was asked for. */
export function parsePreferWait(header: string | undefined): number | undefined {
  if (!header) return undefined;
  for (const preference of header.split(",")) {
    const match = /^\s*wait\s*=\s*"?(\d+)"?\s*$/i.exec(preference.split(";")[0]!);
    if (match) return Math.min(Number(match[1]), MAX_WAIT_S);
  }
  return undefined;
}
