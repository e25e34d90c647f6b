// A result's inline outputs (protocol/inlineOutputs.ts): each must be a file of the
// manifest with the size and sha256 it claims, all checked before any is stored,
// then stored in R2 under the same key an upload would use, so the rest of the
// result's check and every later reader see no difference.
import type { InlineOutput } from "../../protocol/inlineOutputs.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { outputObjectKey } from "../../protocol/uploads.ts";
import { fromBase64, sha256Hex } from "../security/randomToken.ts";

export type StoredInline = { ok: true; keys: Set<string> } | { ok: false; error: string };

export async function storeInlineOutputs(bucket: R2Bucket, jobId: string, manifest: OutputManifest, inline: readonly InlineOutput[]): Promise<StoredInline> {
  const claimed = new Map(manifest.files.map((file) => [file.path, file]));
  const checked: Array<{ key: string; bytes: Uint8Array; sha256: string }> = [];
  for (const output of inline) {
    const file = claimed.get(output.path);
    if (!file) return { ok: false, error: `inline output ${output.path} is not in the manifest` };
    const bytes = fromBase64(output.data_base64);
    if (bytes.length !== file.size) return { ok: false, error: `inline output ${output.path} is ${bytes.length} bytes, the manifest says ${file.size}` };
    if ((await sha256Hex(bytes)) !== file.sha256) return { ok: false, error: `inline output ${output.path} does not have the sha256 the manifest claims` };
    checked.push({ key: outputObjectKey(jobId, file.path, file.sha256), bytes, sha256: file.sha256 });
  }
  await Promise.all(checked.map(({ key, bytes, sha256 }) => bucket.put(key, bytes, { sha256 })));
  return { ok: true, keys: new Set(checked.map(({ key }) => key)) };
}
