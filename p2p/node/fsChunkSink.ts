// The receiver's files, assembled in a folder. A file being fetched lives at
// `<path>.pond-partial` with its verified chunks listed in
// `<path>.pond-partial.json`; once its sha256 matches it is renamed to `<path>`.
// A receiver killed mid-way finds both on restart and resumes.
import { createHash } from "node:crypto";
import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { chunkLength, type TransferFile } from "../../protocol/transfer.ts";
import type { ChunkSink } from "../core/storage.ts";
import { sha256OfFile } from "./fileSha256.ts";
import { PartialStateWriter, readVerifiedChunks } from "./partialState.ts";
import { PrefixHasher } from "./prefixHasher.ts";
import { pathInside } from "./storagePath.ts";

export const PARTIAL_SUFFIX = ".pond-partial";
export const STATE_SUFFIX = ".pond-partial.json";

interface OpenFile {
  handle: FileHandle;
  state: PartialStateWriter;
  hasher: PrefixHasher;
}

export class FsChunkSink implements ChunkSink {
  private readonly open = new Map<string, OpenFile>();
  /** Files found already complete at their final path. */
  private readonly alreadyComplete = new Set<string>();

  constructor(private readonly root: string) {}

  async prepareFile(file: TransferFile): Promise<Iterable<number>> {
    const target = pathInside(this.root, file.path);
    const partial = target + PARTIAL_SUFFIX;
    await mkdir(dirname(target), { recursive: true });
    await this.closeFile(file.path);
    const listed = (await sizeOf(partial)) === file.size ? await readVerifiedChunks(target + STATE_SUFFIX, file) : [];
    if (listed.length === 0 && (await sizeOf(partial)) === undefined && (await sizeOf(target)) === file.size && (await sha256OfFile(target)) === file.sha256) {
      this.alreadyComplete.add(file.path);
      await rm(target + STATE_SUFFIX, { force: true });
      return file.chunks.keys();
    }
    this.alreadyComplete.delete(file.path);
    const handle = await open(partial, listed.length > 0 ? "r+" : "w+");
    try {
      if (listed.length === 0) await handle.truncate(file.size);
      const verified = await rehashChunks(handle, file, listed);
      const state = new PartialStateWriter(target + STATE_SUFFIX, file, verified);
      const hasher = new PrefixHasher(file.chunks.length);
      if (verified.length > 0) hasher.abandon();
      this.open.set(file.path, { handle, state, hasher });
      await state.flush();
      return verified;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async writeChunk(file: TransferFile, index: number, bytes: Uint8Array): Promise<void> {
    const entry = this.entry(file);
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await entry.handle.write(bytes, done, bytes.byteLength - done, index * file.chunk_size + done);
      done += bytesWritten;
    }
    entry.hasher.add(index, bytes);
    entry.state.add(index);
  }

  async fileSha256(file: TransferFile): Promise<string> {
    const target = pathInside(this.root, file.path);
    if (this.alreadyComplete.has(file.path)) return sha256OfFile(target);
    const entry = this.entry(file);
    return entry.hasher.digest() ?? sha256OfFile(target + PARTIAL_SUFFIX);
  }

  async finishFile(file: TransferFile): Promise<void> {
    if (this.alreadyComplete.has(file.path)) return;
    const target = pathInside(this.root, file.path);
    const entry = this.entry(file);
    this.open.delete(file.path);
    await entry.handle.close();
    await rename(target + PARTIAL_SUFFIX, target);
    await entry.state.remove();
  }

  async discardFile(file: TransferFile): Promise<void> {
    const target = pathInside(this.root, file.path);
    const entry = this.open.get(file.path);
    this.open.delete(file.path);
    this.alreadyComplete.delete(file.path);
    await entry?.handle.close();
    await entry?.state.remove();
    await rm(target + PARTIAL_SUFFIX, { force: true });
    await rm(target + STATE_SUFFIX, { force: true });
  }

  /** Closes open partial files; their state stays, so a later prepareFile resumes them. */
  async close(): Promise<void> {
    await Promise.all([...this.open.keys()].map((path) => this.closeFile(path)));
  }

  private async closeFile(path: string): Promise<void> {
    const entry = this.open.get(path);
    if (!entry) return;
    this.open.delete(path);
    await entry.state.flush().catch(() => {});
    await entry.handle.close();
  }

  private entry(file: TransferFile): OpenFile {
    const entry = this.open.get(file.path);
    if (!entry) throw new Error(`"${file.path}" was not prepared (prepareFile) or is already finished`);
    return entry;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** The listed chunks whose bytes on disk still match the manifest: a chunk the process wrote but the disk lost is fetched again. */
async function rehashChunks(handle: FileHandle, file: TransferFile, listed: readonly number[]): Promise<number[]> {
  const verified: number[] = [];
  const buffer = new Uint8Array(file.chunk_size);
  for (const index of listed) {
    const length = chunkLength(file, index);
    const { bytesRead } = await handle.read(buffer, 0, length, index * file.chunk_size);
    if (bytesRead === length && createHash("sha256").update(buffer.subarray(0, length)).digest("hex") === file.chunks[index]) verified.push(index);
  }
  return verified;
}
