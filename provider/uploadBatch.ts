// Many small outputs in one signed request (protocol/outputBatch.ts): a job's
// thousands of small files cost a few requests, not one request and one
// signature each.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PrivateKeyAccount } from "viem/accounts";
import { BATCH_FILE_MAX_BYTES, BATCH_MAX_CONTENT_BYTES, BATCH_MAX_FILES, encodeOutputBatch, outputBatchMessage } from "../protocol/outputBatch.ts";
import type { ManifestFile } from "../protocol/manifest.ts";
import { signedHeaders } from "../protocol/uploads.ts";
import { sendUpload } from "./uploads.ts";

/** Whether a file goes up in a batch rather than on its own. */
export const fitsBatch = (file: ManifestFile) => file.size <= BATCH_FILE_MAX_BYTES;

/** The batchable files in batches within the API's limits, in their order. */
export function batchesOf(files: readonly ManifestFile[]): ManifestFile[][] {
  const batches: ManifestFile[][] = [];
  let current: ManifestFile[] = [];
  let bytes = 0;
  for (const file of files.filter(fitsBatch)) {
    if (current.length === BATCH_MAX_FILES || bytes + file.size > BATCH_MAX_CONTENT_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(file);
    bytes += file.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

export async function uploadOutputBatch(options: { api: string; account: PrivateKeyAccount; jobId: string; outputsDir: string; files: readonly ManifestFile[]; signal?: AbortSignal }): Promise<void> {
  const files = await Promise.all(
    options.files.map(async (file) => {
      const bytes = await readFile(join(options.outputsDir, file.path));
      if (bytes.length !== file.size) throw new Error(`${file.path} changed after it was listed (${file.size} bytes then, ${bytes.length} now)`);
      return { ...file, bytes };
    }),
  );
  const body = encodeOutputBatch(files);
  const sha256 = createHash("sha256").update(body).digest("hex");
  const timestamp = Date.now();
  const signature = await options.account.signMessage({ message: outputBatchMessage({ jobId: options.jobId, sha256, size: body.length, timestamp }) });
  await sendUpload({
    url: new URL(`/v1/providers/jobs/${encodeURIComponent(options.jobId)}/outputs`, options.api),
    method: "POST",
    headers: signedHeaders({ provider: options.account.address, timestamp, signature, sha256 }),
    body,
    size: body.length,
    what: `a batch of ${files.length} outputs (${files[0]!.path} …)`,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
