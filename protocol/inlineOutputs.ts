// Small outputs carried in the result message itself. A short job's metrics.json
// or a small model went up first in an upload of its own, a signed request and a
// round trip to the API on the way from the container's exit to its result; now
// they ride with the result, and the hub checks each against the manifest (size
// and sha256) and stores it in R2 as an upload would. Bigger outputs are uploaded
// as before.
import { z } from "zod";
import { Base64, decodedLength, RelativePath } from "./jobSpec.ts";

/** The most bytes (decoded) a result carries inline, all files together. */
export const INLINE_OUTPUTS_MAX_BYTES = 64 * 1024;
/** The most files a result carries inline. */
export const INLINE_OUTPUTS_MAX_FILES = 64;

export const InlineOutput = z.object({ path: RelativePath, data_base64: Base64 }).strict();
export type InlineOutput = z.infer<typeof InlineOutput>;

export const InlineOutputs = z
  .array(InlineOutput)
  .max(INLINE_OUTPUTS_MAX_FILES)
  .refine((outputs) => new Set(outputs.map((o) => o.path)).size === outputs.length, "must not repeat a path")
  .refine((outputs) => outputs.reduce((sum, o) => sum + decodedLength(o.data_base64), 0) <= INLINE_OUTPUTS_MAX_BYTES, `must total at most ${INLINE_OUTPUTS_MAX_BYTES} bytes decoded`);

/** Which of a manifest's files go inline: the smallest first, while they fit. */
export function inlineShare<T extends { size: number }>(files: readonly T[]): T[] {
  const chosen: T[] = [];
  let bytes = 0;
  for (const file of [...files].sort((a, b) => a.size - b.size)) {
    if (chosen.length === INLINE_OUTPUTS_MAX_FILES || bytes + file.size > INLINE_OUTPUTS_MAX_BYTES) break;
    chosen.push(file);
    bytes += file.size;
  }
  return chosen;
}
