// The R2 relay of a job's input files: the fallback when the creator and the
// provider cannot connect peer to peer, or the creator is gone. The creator
// uploads the transfer manifest (refused unless its files are exactly the
// spec's input_files) and its chunks, keyed by sha256 (R2 checks each as it
// stores); the job's provider, or a mediator the chain drew, reads them.
// One R2 object per chunk rather than one multipart upload whose parts are the
// chunks: R2 wants every part but the last to be at least 5 MiB and all of one
// size, and chunks are 1-4 MiB (a file's last one shorter). Per-chunk objects
// also let a resumed upload ask which chunks are missing and send only those.
import { and, eq } from "drizzle-orm";
import type { ResolvedInputFile } from "../../protocol/jobSpec.ts";
import { TransferManifest } from "../../protocol/transfer.ts";
import { inputChunkKey, inputManifestKey } from "../../protocol/uploads.ts";
import type { Db } from "../db/client.ts";
import { chainEvents } from "../db/schema.ts";

export class RelayRefusal extends Error {
  override name = "RelayRefusal";
}

/** The manifest, checked against the spec: every input file, with its size and sha256, and nothing else. */
export function checkInputManifest(json: unknown, inputFiles: readonly ResolvedInputFile[]): TransferManifest {
  const parsed = TransferManifest.safeParse(json);
  if (!parsed.success) throw new RelayRefusal(`the manifest is not a transfer manifest: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(manifest)"}: ${i.message}`).join("; ")}`);
  const manifest = parsed.data;
  const want = new Map(inputFiles.map((file) => [file.path, file]));
  if (want.size === 0) throw new RelayRefusal("the job's spec names no input_files");
  if (manifest.files.length !== want.size) throw new RelayRefusal(`the manifest lists ${manifest.files.length} file(s); the spec's input_files has ${want.size}`);
  for (const file of manifest.files) {
    const spec = want.get(file.path);
    if (!spec) throw new RelayRefusal(`"${file.path}" is not in the spec's input_files`);
    if (spec.size !== file.size || spec.sha256 !== file.sha256) throw new RelayRefusal(`"${file.path}" has ${file.size} bytes and sha256 ${file.sha256} in the manifest; the spec says ${spec.size} bytes and ${spec.sha256}`);
  }
  return manifest;
}

export async function storedManifest(bucket: R2Bucket, jobId: string): Promise<TransferManifest | undefined> {
  const object = await bucket.get(inputManifestKey(jobId));
  if (!object) return undefined;
  const parsed = TransferManifest.safeParse(await object.json().catch(() => undefined));
  return parsed.success ? parsed.data : undefined;
}

export function listsChunk(manifest: TransferManifest, sha256: string): boolean {
  return manifest.files.some((file) => file.chunks.includes(sha256));
}

/** Which of `sha256s` the relay does not hold yet for this job. */
export async function missingChunks(bucket: R2Bucket, jobId: string, sha256s: readonly string[]): Promise<string[]> {
  const unique = [...new Set(sha256s)];
  const held = await Promise.all(unique.map(async (sha256) => (await bucket.head(inputChunkKey(jobId, sha256))) !== null));
  return unique.filter((_, i) => !held[i]);
}

/** Whether `address` may read the job's inputs: its provider, or a mediator the chain drew for it. */
export async function mayReadInputs(db: Db, job: { provider: string | null; chainJobId: string }, address: string): Promise<boolean> {
  if (job.provider === address) return true;
  const drawn = await db
    .select({ args: chainEvents.args })
    .from(chainEvents)
    .where(and(eq(chainEvents.chainJobId, job.chainJobId), eq(chainEvents.name, "MediatorAssigned")));
  return drawn.some((row) => String((row.args as { mediator?: unknown }).mediator ?? "").toLowerCase() === address);
}
