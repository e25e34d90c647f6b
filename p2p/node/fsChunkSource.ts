// The sender's files, read from a folder. Each manifest path is a file under `root`.
import { open, type FileHandle } from "node:fs/promises";
import type { TransferFile } from "../../protocol/transfer.ts";
import type { ChunkSource } from "../core/storage.ts";
import { pathInside } from "./storagePath.ts";

export class FsChunkSource implements ChunkSource {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  constructor(private readonly root: string) {}

  async read(file: TransferFile, offset: number, length: number): Promise<Uint8Array> {
    const handle = await this.handle(file.path);
    const bytes = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`"${file.path}" ended at ${offset + done} bytes; the manifest says ${file.size}`);
      done += bytesRead;
    }
    return bytes;
  }

  /** Closes the files it opened. */
  async close(): Promise<void> {
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (handle) => (await handle.catch(() => undefined))?.close()));
  }

  private handle(path: string): Promise<FileHandle> {
    let handle = this.handles.get(path);
    if (!handle) {
      handle = open(pathInside(this.root, path), "r");
      // A failed open is not cached: the next read tries again.
      handle.catch(() => this.handles.delete(path));
      this.handles.set(path, handle);
    }
    return handle;
  }
}
