// Fills a job's inputs folder from the R2 relay: what the sink lacks (it knows
// what an earlier, cut transfer verified), chunk by chunk, each checked against
// the manifest and each file checked whole against the spec before it gets its
// name. The creator may still be uploading: what is not there yet is asked for
// again until the deadline.
import { createHash } from "node:crypto";
import type { ResolvedInputFile } from "../../protocol/jobSpec.ts";
import type { TransferFile, TransferManifest } from "../../protocol/transfer.ts";
import { checkManifestFiles } from "../../p2p/core/manifestExchange.ts";
import { forEachInPool } from "../../p2p/core/pool.ts";
import type { ChunkSink } from "../../p2p/core/storage.ts";
import type { RelayClient } from "./relayClient.ts";

/** Chunks fetched at once: enough to fill a link, few enough to bound memory (4 × ≤ 4 MiB). */
const PARALLEL = 4;
const POLL_MS = { first: 250, max: 5_000 };

export class InputsError extends Error {
  override name = "InputsError";
  constructor(
    message: string,
    /** The API's answer when it refused the read (404: the file is not there). */
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export interface RelayFetchOptions {
  client: RelayClient;
  jobId: string;
  expected: readonly ResolvedInputFile[];
  sink: ChunkSink;
  /** Unix ms: past it, what is missing fails the job. */
  deadline: number;
  signal?: AbortSignal;
  /** The creator has not uploaded yet: called once, when the wait starts. */
  onWaiting?(): void;
  onProgress?(done: number, total: number): void;
}

export async function fetchFromRelay(options: RelayFetchOptions): Promise<{ bytes: number; manifest: TransferManifest }> {
  const manifest = await waitFor(options, () => options.client.manifest(options.jobId), "the input manifest");
  try {
    checkManifestFiles(manifest, options.expected);
  } catch (error) {
    throw new InputsError(`the creator's uploaded inputs do not match the spec: ${(error as Error).message}`);
  }
  const total = manifest.files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  let fetched = 0;
  for (const file of manifest.files) {
    const present = new Set(await options.sink.prepareFile(file));
    for (const index of present) done += chunkBytes(file, index);
    const missing = file.chunks.map((_, index) => index).filter((index) => !present.has(index));
    await forEachInPool(missing, PARALLEL, async (index, failed) => {
      // Once another chunk failed, a wait for this one ends too.
      const signal = options.signal ? AbortSignal.any([options.signal, failed]) : failed;
      const bytes = await waitFor({ ...options, signal }, () => options.client.chunk(options.jobId, file.chunks[index]!), `chunk ${index} of "${file.path}"`);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (sha256 !== file.chunks[index] || bytes.byteLength !== chunkBytes(file, index)) throw new InputsError(`input file "${file.path}": chunk ${index} from the relay does not match its sha256`);
      await options.sink.writeChunk(file, index, bytes);
      done += bytes.byteLength;
      fetched += bytes.byteLength;
      options.onProgress?.(done, total);
    });
    await finish(options.sink, file);
  }
  return { bytes: fetched, manifest };
}

/** A file whose every chunk matched but whose whole does not: the creator's manifest lied. */
async function finish(sink: ChunkSink, file: TransferFile): Promise<void> {
  const sha256 = await sink.fileSha256(file);
  if (sha256 !== file.sha256) {
    await sink.discardFile(file);
    throw new InputsError(`input file "${file.path}" has sha256 ${sha256}, not ${file.sha256} as the spec says`);
  }
  await sink.finishFile(file);
}

function chunkBytes(file: TransferFile, index: number): number {
  return Math.min(file.chunk_size, file.size - index * file.chunk_size);
}

async function waitFor<T>(options: RelayFetchOptions, read: () => Promise<T | undefined>, what: string): Promise<T> {
  let pause = POLL_MS.first;
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const value = await read();
    if (value !== undefined) return value;
    if (!told) {
      told = true;
      options.onWaiting?.();
    }
    if (Date.now() + pause > options.deadline) throw new InputsError(`the creator's inputs did not arrive in time: ${what} is still missing from the relay`);
    await sleep(pause, options.signal);
    pause = Math.min(POLL_MS.max, pause * 2);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
