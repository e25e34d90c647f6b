// The tail of a job's output kept for the job object: the last LOG_TAIL_BYTES,
// cut at a line boundary where possible. Pure.
export const LOG_TAIL_BYTES = 16 * 1024;

export function appendToTail(tail: string, chunk: string, limit = LOG_TAIL_BYTES): string {
  const combined = tail + chunk;
  if (combined.length <= limit) return combined;
  const cut = combined.slice(combined.length - limit);
  const newline = cut.indexOf("\n");
  return newline >= 0 && newline < cut.length - 1 ? cut.slice(newline + 1) : cut;
}
