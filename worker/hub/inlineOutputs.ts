// A result's inline outputs (protocol/inlineOutputs.ts): each must be a file of the
// manifest with the size and sha256 it claims. They are stored in R2 under the key an
// upload would use, so every later reader sees no difference, and only once the whole
// result has passed its checks (resultCheck.ts): a refused result leaves nothing behind.
import type { InlineOutput } from "../../protocol/inlineOutputs.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { outputObjectKey } from "../../protocol/uploads.ts";
import { fromBase64, sha256Hex } from "../security/randomToken.ts";

export interface CheckedInline {
  key: string;
  bytes: Uint8Array;
  sha256: string;
}

export type InlineCheck = { ok: true; outputs: CheckedInline[] } | { ok: false; error: string };

export async function checkInlineOutputs(jobId: string, manifest: OutputManifest, inline: readonly InlineOutput[]): Promise<InlineCheck> {
  const claimed = new Map(manifest.files.map((file) => [file.path, file]));
  const outputs: CheckedInline[] = [];
  for (const output of inline) {
    const file = claimed.get(output.path);
    if (!file) return { ok: false, error: `inline output ${output.path} is not in the manifest` };
    const bytes = fromBase64(output.data_base64);
    if (bytes.length !== file.size) return { ok: false, error: `inline output ${output.path} is ${bytes.length} bytes, the manifest says ${file.size}` };
    if ((await sha256Hex(bytes)) !== file.sha256) return { ok: false, error: `inline output ${output.path} does not have the sha256 the manifest claims` };
    outputs.push({ key: outputObjectKey(jobId, file.path, file.sha256), bytes, sha256: file.sha256 });
  }
  return { ok: true, outputs };
}

export async function storeInlineOutputs(bucket: R2Bucket, outputs: readonly CheckedInline[]): Promise<void> {
  await Promise.all(outputs.map(({ key, bytes, sha256 }) => bucket.put(key, bytes, { sha256 })));
}
