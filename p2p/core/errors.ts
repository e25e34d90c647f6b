// Errors of the data plane, as classes a caller can branch on. Each message
// says what happened and what the caller can do next.

export type TransferErrorCode =
  | "interrupted"
  | "stalled"
  | "chunk_integrity"
  | "file_integrity"
  | "sender_failed"
  | "storage_failed"
  | "connect_timeout"
  | "connect_failed"
  | "peer_left";

export class TransferError extends Error {
  override name = "TransferError";
  constructor(
    readonly code: TransferErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Every channel closed before the transfer finished. Verified chunks are kept: run it again on a new connection to resume. */
export class TransferInterruptedError extends TransferError {
  override name = "TransferInterruptedError";
  constructor(detail: string) {
    super("interrupted", `the transfer was cut off (${detail}); verified chunks are kept, so a new connection resumes it`);
  }
}

/** Chunks were asked for and nothing arrived for a while, though the channels stayed open. */
export class TransferStalledError extends TransferError {
  override name = "TransferStalledError";
  constructor(idleMs: number, missingChunks: number) {
    super("stalled", `no data arrived for ${idleMs} ms with ${missingChunks} chunk(s) still missing; the sender may be gone: try again or fall back`);
  }
}

/** A chunk failed its sha256 on every attempt: the sender's copy is not what the manifest describes. */
export class ChunkIntegrityError extends TransferError {
  override name = "ChunkIntegrityError";
  constructor(path: string, chunk: number, attempts: number) {
    super("chunk_integrity", `chunk ${chunk} of "${path}" failed its sha256 check ${attempts} time(s); the sender's file does not match the manifest`);
  }
}

/** Every chunk matched but the whole file did not: the manifest's chunk list and file sha256 disagree. */
export class FileIntegrityError extends TransferError {
  override name = "FileIntegrityError";
  constructor(path: string, expected: string, actual: string) {
    super("file_integrity", `"${path}" has sha256 ${actual}, not ${expected} as the manifest says, though every chunk matched: the manifest is inconsistent, so the file was discarded`);
  }
}

/** The sender said it cannot serve a chunk (e.g. its file is gone). */
export class SenderFailedError extends TransferError {
  override name = "SenderFailedError";
  constructor(detail: string) {
    super("sender_failed", `the sender could not serve the transfer: ${detail}`);
  }
}

/** The receiver's storage could not take a chunk or a file (disk full, permissions). */
export class StorageFailedError extends TransferError {
  override name = "StorageFailedError";
  constructor(detail: string, options?: { cause?: unknown }) {
    super("storage_failed", `the receiver could not store the transfer: ${detail}`, options);
  }
}

/** No peer connection within the time allowed: the caller should fall back (e.g. to the R2 relay). */
export class PeerConnectTimeoutError extends TransferError {
  override name = "PeerConnectTimeoutError";
  constructor(timeoutMs: number) {
    super("connect_timeout", `no peer connection within ${timeoutMs} ms; fall back to another route`);
  }
}

/** ICE or DTLS failed, or the signaling carried something the peer connection refused. */
export class PeerConnectFailedError extends TransferError {
  override name = "PeerConnectFailedError";
  constructor(detail: string, options?: { cause?: unknown }) {
    super("connect_failed", `the peer connection failed: ${detail}`, options);
  }
}

/** The other peer said it is leaving (signaling "leave"), or the connection closed. */
export class PeerLeftError extends TransferError {
  override name = "PeerLeftError";
  constructor(reason?: string) {
    super("peer_left", `the other peer left${reason ? `: ${reason}` : ""}`);
  }
}
