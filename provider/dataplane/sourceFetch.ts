// A job's input files that are an earlier job's outputs (protocol/jobSpec.ts `from`),
// fetched by this provider from where that job left them: the API's R2 store, through
// the signed read GET /v1/providers/jobs/{id}/data/sources/{sha256} (its provider, or a
// drawn mediator, only). The creator's machine is not on the path. Each file is
// hashed as it is written, whole and chunk by chunk (so it can be kept and served again),
// and gets its name only once its size and sha256 are the ones the API resolved from the
// source job's signed manifest. A cut read resumes where it stopped (HTTP Range); a file
// already in place (the input cache put it there) is checked, not fetched.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ResolvedInputFile } from "../../protocol/jobSpec.ts";
import type { TransferRoute } from "../../protocol/transferMetrics.ts";
import { DEFAULT_CHUNK_SIZE, TRANSFER_PROTOCOL_VERSION, type TransferFile, type TransferManifest } from "../../protocol/transfer.ts";
import { checkpointObject, outputObject, relayReadMessage, signedHeaders, sourceObject } from "../../protocol/uploads.ts";
import { pathInside } from "../../p2p/node/storagePath.ts";
import type { FetchedInputs } from "./inputsFetch.ts";
import { InputsError } from "./relayFetch.ts";

/** What each kind of read signs for one file. */
const OBJECT_OF = { sources: sourceObject, outputs: outputObject, checkpoint: checkpointObject } as const;

/** A read that delivers nothing for this long is cut (and resumed). */
const IDLE_TIMEOUT_MS = 60_000;
/** Tries per file: a cut read resumes from what was written. */
const ATTEMPTS = 4;
const RETRY_PAUSE_MS = [500, 2_000, 5_000];

export type SourceInputFile = ResolvedInputFile & { from: NonNullable<ResolvedInputFile["from"]> };

export function isFromSource(file: ResolvedInputFile): file is SourceInputFile {
  return file.from !== undefined;
}

export interface SourceFetchOptions {
  api: string;
  account: PrivateKeyAccount;
  jobId: string;
  /**
   * "sources" (the default): the job's inputs that are other jobs' outputs. "outputs": the job's
   * own outputs, which a mediator reads to judge them against its re-run (each file's `from` names
   * the job itself). "checkpoint": the job's latest checkpoint, which a requeued job's provider puts back.
   */
  read?: "sources" | "outputs" | "checkpoint";
  files: readonly SourceInputFile[];
  inputsDir: string;
  signal?: AbortSignal;
  onProgress?(done: number, total: number): void;
}

export interface FetchedFromSources {
  /** Bytes that came over the network (a file already in place, or the part of a cut read kept, counts none). */
  bytes: number;
  /** How most of those bytes came: from the source's provider peer to peer ("direct", "turn"), or R2 ("outputs", the default). */
  route?: TransferRoute;
  /** Each file as a transfer manifest entry: what keeps and serves it again (the input cache, a mediator). */
  files: TransferFile[];
}

export async function fetchFromSources(options: SourceFetchOptions): Promise<FetchedFromSources> {
  const total = options.files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  let bytes = 0;
  const described: TransferFile[] = [];
  for (const file of options.files) {
    const fetched = await fetchOne(options, file, (delta, moved) => {
      done += delta;
      if (moved) bytes += delta;
      options.onProgress?.(done, total);
    });
    described.push(fetched);
  }
  return { bytes, files: described };
}

async function fetchOne(options: SourceFetchOptions, file: SourceInputFile, advance: (delta: number, moved: boolean) => void): Promise<TransferFile> {
  const target = pathInside(options.inputsDir, file.path);
  // Outside the folder the container sees, so a half-written file is never among its inputs.
  const partial = join(dirname(options.inputsDir), "inputs-partial", file.sha256);
  const present = await hashIfSized(target, file.size);
  if (present && present.sha256 === file.sha256) {
    advance(file.size, false);
    return describe(file, present);
  }
  await rm(target, { force: true });
  await mkdir(dirname(partial), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const hasher = new ChunkHasher();
    // What an earlier, cut read wrote stays: hashed again from disk, then the rest is asked for.
    await (await open(partial, "a")).close();
    const kept = await feedFile(partial, hasher);
    if (kept > file.size) {
      await rm(partial, { force: true });
      continue;
    }
    advance(kept, false);
    try {
      if (kept < file.size) await download(options, file, partial, kept, hasher, (delta) => advance(delta, true));
      const whole = hasher.digest();
      if (whole.size !== file.size || whole.sha256 !== file.sha256) {
        await rm(partial, { force: true });
        throw new InputsError(`input file "${file.path}" from ${file.from.job}'s outputs is ${whole.size} bytes with sha256 ${whole.sha256}, not the ${file.size} bytes and ${file.sha256} of that job's manifest`);
      }
      await mkdir(dirname(target), { recursive: true });
      await rename(partial, target);
      return describe(file, whole);
    } catch (error) {
      // Progress counted for this try is taken back: the next one counts what it keeps.
      advance(-(hasher.size), false);
      // InputsError: the bytes are wrong, or the API said no; trying again cannot change either.
      if (error instanceof InputsError || attempt >= ATTEMPTS || options.signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS[attempt - 1] ?? 5_000));
    }
  }
}

/** Appends the file's bytes from `offset` to `partial`, each through `hasher`. */
async function download(options: SourceFetchOptions, file: SourceInputFile, partial: string, offset: number, hasher: ChunkHasher, moved: (delta: number) => void): Promise<void> {
  const idle = new AbortController();
  let timer = setTimeout(() => idle.abort(new Error(`no bytes of "${file.path}" for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  const timestamp = Date.now();
  const read = options.read ?? "sources";
  const object = OBJECT_OF[read](file.sha256);
  const signature = await options.account.signMessage({ message: relayReadMessage({ jobId: options.jobId, object, timestamp }) });
  const url = new URL(`/v1/providers/jobs/${encodeURIComponent(options.jobId)}/data/${read}/${file.sha256}`, options.api);
  const handle = await open(partial, "a");
  try {
    const response = await fetch(url, {
      headers: {
        ...signedHeaders({ provider: options.account.address, timestamp, signature }),
        ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
      },
      signal,
    });
    if (offset > 0 && response.status === 200) {
      // The whole file came back instead of the rest: the next try starts over.
      await response.body?.cancel();
      await handle.truncate(0);
      throw new Error(`the read of "${file.path}" did not resume at byte ${offset}`);
    }
    if (response.status !== (offset > 0 ? 206 : 200)) {
      const text = (await response.text().catch(() => "")).slice(0, 300);
      const why = `reading "${file.path}" from ${file.from.job}'s outputs failed: HTTP ${response.status} ${text}`;
      // The API's no (not this job's provider any more, no such input): trying again cannot change it.
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) throw new InputsError(why, response.status);
      throw new Error(why);
    }
    for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new Error(`no bytes of "${file.path}" for ${IDLE_TIMEOUT_MS / 1000} s`)), IDLE_TIMEOUT_MS);
      if (hasher.size + piece.byteLength > file.size) throw new InputsError(`input file "${file.path}" from ${file.from.job}'s outputs is longer than the ${file.size} bytes of that job's manifest`);
      await handle.write(piece);
      hasher.update(piece);
      moved(piece.byteLength);
    }
  } finally {
    clearTimeout(timer);
    await handle.close();
  }
}

/** The file's sha256 and chunks when it is there with exactly `size` bytes; else undefined. */
async function hashIfSized(path: string, size: number): Promise<ReturnType<ChunkHasher["digest"]> | undefined> {
  const found = await stat(path).catch(() => undefined);
  if (!found?.isFile() || found.size !== size) return undefined;
  const hasher = new ChunkHasher();
  await feedFile(path, hasher);
  return hasher.digest();
}

/** Feeds the file's bytes to `hasher`; how many there were. */
async function feedFile(path: string, hasher: ChunkHasher): Promise<number> {
  let read = 0;
  for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) {
    hasher.update(piece);
    read += piece.byteLength;
  }
  return read;
}

function describe(file: SourceInputFile, hashed: { size: number; sha256: string; chunks: string[] }): TransferFile {
  return { path: file.path, size: hashed.size, sha256: hashed.sha256, chunk_size: DEFAULT_CHUNK_SIZE, chunks: hashed.chunks };
}

/** sha256 of a whole file and of each DEFAULT_CHUNK_SIZE chunk, as buildTransferManifest computes them, fed in pieces of any size. */
class ChunkHasher {
  private readonly whole = createHash("sha256");
  private chunk: Hash = createHash("sha256");
  private inChunk = 0;
  private readonly chunks: string[] = [];
  size = 0;

  update(bytes: Uint8Array): void {
    this.whole.update(bytes);
    this.size += bytes.byteLength;
    let offset = 0;
    while (offset < bytes.byteLength) {
      const take = Math.min(DEFAULT_CHUNK_SIZE - this.inChunk, bytes.byteLength - offset);
      this.chunk.update(bytes.subarray(offset, offset + take));
      this.inChunk += take;
      offset += take;
      if (this.inChunk === DEFAULT_CHUNK_SIZE) this.closeChunk();
    }
  }

  digest(): { size: number; sha256: string; chunks: string[] } {
    if (this.inChunk > 0) this.closeChunk();
    return { size: this.size, sha256: this.whole.digest("hex"), chunks: this.chunks };
  }

  private closeChunk(): void {
    this.chunks.push(this.chunk.digest("hex"));
    this.chunk = createHash("sha256");
    this.inChunk = 0;
  }
}

/**
 * One fetch's account of the creator's files (if any) and those from other jobs' outputs: every file in its
 * manifest; its route the one that moved more bytes ("outputs" for these), its time the whole fetch's.
 */
export function withSourceFiles(own: FetchedInputs | undefined, sourced: FetchedFromSources, ms: number): FetchedInputs {
  const ownBytes = own?.measure.bytes ?? 0;
  return {
    measure: { route: own && ownBytes > sourced.bytes ? own.measure.route : (sourced.route ?? "outputs"), bytes: ownBytes + sourced.bytes, ms: Math.round(ms) },
    manifest: { v: TRANSFER_PROTOCOL_VERSION, files: [...(own?.manifest.files ?? []), ...sourced.files] },
    from: own?.from ?? "relay",
  };
}

/** A fetch's manifest cut to the files the creator brought (those a mediator asks this provider for). */
export function onlyCreatorFiles<T extends { manifest: TransferManifest }>(fetched: T, files: readonly ResolvedInputFile[]): T {
  const fromSources = new Set(files.filter(isFromSource).map((file) => file.path));
  return { ...fetched, manifest: { ...fetched.manifest, files: fetched.manifest.files.filter((file) => !fromSources.has(file.path)) } };
}
