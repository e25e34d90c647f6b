// Where the transfer core reads and writes file bytes. p2p/node/ has the file
// system versions; tests and a browser page can bring their own.
import type { TransferFile } from "../../protocol/transfer.ts";

/** The sender's side: bytes of the files a manifest describes. */
export interface ChunkSource {
  /** Exactly `length` bytes of `file` from `offset`. */
  read(file: TransferFile, offset: number, length: number): Promise<Uint8Array>;
}

/** The receiver's side: a file assembled from verified chunks, resumable across connections and restarts. */
export interface ChunkSink {
  /**
   * Makes room for `file` and returns the indices of its chunks already stored
   * and verified against the manifest (by an earlier, interrupted transfer), so
   * only the others are asked for.
   */
  prepareFile(file: TransferFile): Promise<Iterable<number>>;
  /** Stores chunk `index` (at offset `index * chunk_size`); its sha256 has already matched the manifest. */
  writeChunk(file: TransferFile, index: number, bytes: Uint8Array): Promise<void>;
  /** sha256 (lower-case hex) of the whole file as stored, once every chunk is there. */
  fileSha256(file: TransferFile): Promise<string>;
  /** Every byte verified: make the file visible at its path. */
  finishFile(file: TransferFile): Promise<void>;
  /** Forgets what is stored for `file`: its bytes cannot be trusted. */
  discardFile(file: TransferFile): Promise<void>;
}
