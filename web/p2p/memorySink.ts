// Where the browser keeps files it receives: in memory, one buffer per file,
// handed to the page as a Blob once every byte is verified. Chunks verified on a
// connection that dropped stay, so the next connection asks only for the rest;
// a reloaded page starts over (the CLI keeps partial files on disk instead).
import type { ChunkSink } from "../../p2p/core/storage.ts";
import { sha256Hex } from "../../p2p/core/sha256.ts";
import type { TransferFile } from "../../protocol/transfer.ts";

interface Stored {
  bytes: Uint8Array;
  chunks: Set<number>;
}

export class MemorySink implements ChunkSink {
  private readonly files = new Map<string, Stored>();
  private readonly finished = new Map<string, Blob>();

  async prepareFile(file: TransferFile): Promise<Iterable<number>> {
    let stored = this.files.get(file.path);
    if (!stored || stored.bytes.length !== file.size) {
      stored = { bytes: new Uint8Array(file.size), chunks: new Set() };
      this.files.set(file.path, stored);
    }
    return stored.chunks;
  }

  async writeChunk(file: TransferFile, index: number, bytes: Uint8Array): Promise<void> {
    const stored = this.storedOf(file);
    stored.bytes.set(bytes, index * file.chunk_size);
    stored.chunks.add(index);
  }

  async fileSha256(file: TransferFile): Promise<string> {
    return sha256Hex(this.storedOf(file).bytes);
  }

  async finishFile(file: TransferFile): Promise<void> {
    this.finished.set(file.path, new Blob([this.storedOf(file).bytes as Uint8Array<ArrayBuffer>]));
    this.files.delete(file.path);
  }

  async discardFile(file: TransferFile): Promise<void> {
    this.files.delete(file.path);
  }

  /** A file every byte of which was verified, or undefined. */
  file(path: string): Blob | undefined {
    return this.finished.get(path);
  }

  private storedOf(file: TransferFile): Stored {
    const stored = this.files.get(file.path);
    if (!stored) throw new Error(`${file.path} was not prepared`);
    return stored;
  }
}
