// The tail of a job's output kept for the job object: the last storedTailBytes,
// cut at a line boundary where possible. Pure.
import { logLimits } from "../../protocol/limits.ts";

export function tailOf(output: string, limit: number = logLimits.storedTailBytes): string {
  if (output.length <= limit) return output;
  const start = output.length - limit;
  const cut = output.slice(start);
  // Already at the start of a line: nothing to trim.
  if (output[start - 1] === "\n") return cut;
  const newline = cut.indexOf("\n");
  return newline >= 0 && newline < cut.length - 1 ? cut.slice(newline + 1) : cut;
}
