// Where the browser keeps files it receives when it can: the origin private file
// system (OPFS), one file per output, written chunk by chunk at its offset, so a
// multi-GiB output never sits in the page's memory. The page gets each finished
// file as a disk-backed File. Chunks verified on a connection that dropped stay
// (the writable stays open), so the next connection asks only for the rest.
// Each job's files live under pond-outputs/<job id>; a job's download starts by
// clearing what an earlier one left there. Other jobs' folders are left alone (another
// tab may be filling one); OPFS is best-effort storage the browser may evict.
import type { ChunkSink } from "../../p2p/core/storage.ts";
import type { TransferFile } from "../../protocol/transfer.ts";
import { blobSha256 } from "../outputs/blobSha256.ts";

const ROOT = "pond-outputs";

interface Open {
  handle: FileSystemFileHandle;
  writable: FileSystemWritableFileStream | undefined;
  chunks: Set<number>;
}

export class OpfsSink implements ChunkSink {
  private readonly open = new Map<string, Open>();
  private readonly finished = new Map<string, File>();

  private constructor(private readonly dir: FileSystemDirectoryHandle) {}

  /** A sink for one job's files, or undefined where this browser has no OPFS (the caller keeps them in memory). */
  static async forJob(jobId: string): Promise<OpfsSink | undefined> {
    try {
      const root = await navigator.storage.getDirectory();
      const outputs = await root.getDirectoryHandle(ROOT, { create: true });
      await outputs.removeEntry(jobId, { recursive: true }).catch(() => {});
      return new OpfsSink(await outputs.getDirectoryHandle(jobId, { create: true }));
    } catch {
      return undefined;
    }
  }

  async prepareFile(file: TransferFile): Promise<Iterable<number>> {
    const known = this.open.get(file.path);
    if (known) return known.chunks;
    const handle = await this.dir.getFileHandle(nameOf(file.path), { create: true });
    const writable = await handle.createWritable();
    await writable.truncate(file.size);
    this.open.set(file.path, { handle, writable, chunks: new Set() });
    return [];
  }

  async writeChunk(file: TransferFile, index: number, bytes: Uint8Array): Promise<void> {
    const open = this.openOf(file);
    if (!open.writable) throw new Error(`${file.path} is already complete`);
    await open.writable.write({ type: "write", position: index * file.chunk_size, data: bytes as Uint8Array<ArrayBuffer> });
    open.chunks.add(index);
  }

  async fileSha256(file: TransferFile): Promise<string> {
    const open = this.openOf(file);
    // Closing commits what was written; only then can it be read back.
    await open.writable?.close();
    open.writable = undefined;
    return blobSha256(await open.handle.getFile());
  }

  async finishFile(file: TransferFile): Promise<void> {
    this.finished.set(file.path, await this.openOf(file).handle.getFile());
    this.open.delete(file.path);
  }

  async discardFile(file: TransferFile): Promise<void> {
    const open = this.open.get(file.path);
    this.open.delete(file.path);
    await open?.writable?.abort().catch(() => {});
    await this.dir.removeEntry(nameOf(file.path)).catch(() => {});
  }

  /** A file every byte of which was verified, or undefined. */
  file(path: string): Blob | undefined {
    return this.finished.get(path);
  }

  private openOf(file: TransferFile): Open {
    const open = this.open.get(file.path);
    if (!open) throw new Error(`${file.path} was not prepared`);
    return open;
  }
}

/** One flat name per output path ("a/b.txt" has a slash no OPFS name may hold). */
function nameOf(path: string): string {
  return encodeURIComponent(path);
}
