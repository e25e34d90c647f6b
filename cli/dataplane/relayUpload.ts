// Puts a job's input files in the API's R2 relay: the manifest, then every
// chunk the relay does not hold yet (so an upload cut short resumes), a few
// at a time. For a provider that cannot reach this machine, a creator who
// detaches, and a mediator drawn after the job ended.
import type { TransferManifest } from "../../protocol/transfer.ts";
import { forEachInPool } from "../../p2p/core/pool.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import type { PondClient } from "../../sdk/index.ts";

const PARALLEL = 4;

export async function uploadToRelay(sdk: PondClient, jobId: string, manifest: TransferManifest, source: ChunkSource, onProgress?: (done: number, total: number) => void): Promise<{ bytes: number; ms: number }> {
  const started = performance.now();
  await sdk.data.uploadInputManifest(jobId, manifest);
  const where = new Map<string, { file: TransferManifest["files"][number]; index: number }>();
  for (const file of manifest.files) file.chunks.forEach((sha256, index) => where.has(sha256) || where.set(sha256, { file, index }));
  const missing = await sdk.data.missingInputChunks(jobId, [...where.keys()]);
  const lengthOf = (sha256: string) => {
    const { file, index } = where.get(sha256)!;
    return Math.min(file.chunk_size, file.size - index * file.chunk_size);
  };
  const total = missing.reduce((sum, sha256) => sum + lengthOf(sha256), 0);
  let done = 0;
  await forEachInPool(missing, PARALLEL, async (sha256) => {
    const { file, index } = where.get(sha256)!;
    const bytes = await source.read(file, index * file.chunk_size, lengthOf(sha256));
    await sdk.data.uploadInputChunk(jobId, sha256, bytes);
    done += bytes.byteLength;
    onProgress?.(done, total);
  });
  return { bytes: done, ms: performance.now() - started };
}
