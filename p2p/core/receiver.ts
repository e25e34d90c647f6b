// The receiving side: asks for the chunks it lacks, a bounded window at a time,
// checks each chunk's sha256 before it is stored and each file's sha256 before
// it is made visible, and asks again for a chunk that arrived damaged. What it
// has stored survives a cut connection, so the next connection asks only for
// the rest.
import {
  chunkLength,
  MAX_CHUNKS_PER_REQUEST,
  parseControlFrame,
  parseDataFrame,
  TRANSFER_PROTOCOL_VERSION,
  type ErrorFrame,
  type TransferManifest,
} from "../../protocol/transfer.ts";
import type { Channel, ChannelMessage, Unsubscribe } from "./channel.ts";
import { ChunkAssembler, chunkKey } from "./chunkAssembler.ts";
import {
  ChunkIntegrityError,
  FileIntegrityError,
  SenderFailedError,
  StorageFailedError,
  TransferInterruptedError,
  TransferStalledError,
} from "./errors.ts";
import { sha256Hex } from "./sha256.ts";
import type { ChunkSink } from "./storage.ts";

/** How long a finished receiver waits for the sender to acknowledge "done" before it resolves anyway. */
const DONE_ACK_TIMEOUT_MS = 2000;

export interface ReceiveProgress {
  bytesVerified: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
}

export interface ChunkReceiverOptions {
  /** Bytes asked for and not yet stored; bounds memory and what a cut connection loses. Default 32 MiB. */
  maxInFlightBytes?: number;
  /** A chunk failing its sha256 this many times fails the transfer. Default 3. */
  maxChunkAttempts?: number;
  /** No data for this long while chunks are outstanding fails the transfer. Default 30 s. */
  idleTimeoutMs?: number;
  onProgress?(progress: ReceiveProgress): void;
  /** A frame from the sender that was refused (answered with an error frame, otherwise ignored). */
  onRefusedFrame?(reason: string): void;
  /**
   * For a manifest that is a selection of the sender's (selectManifestFiles): each file's index in the
   * sender's manifest, which requests name and data frames carry. Default: the same index.
   */
  senderIndex?: readonly number[];
}

export interface ChunkReceiverStats {
  /** Bytes verified and stored by this receiver (not counting what was already there). */
  bytesVerified: number;
  /** Bytes that were already stored and verified when it started. */
  resumedBytes: number;
  chunksRequested: number;
  /** Chunks that failed their sha256 and were asked for again. */
  chunksRejected: number;
  /** From start() to the first data frame; undefined until one arrives. */
  firstDataMs: number | undefined;
}

interface Outstanding {
  file: number;
  chunk: number;
  length: number;
  attempts: number;
  /** A complete copy is being hashed and stored; another copy arriving meanwhile is ignored. */
  verifying: boolean;
}

export class ChunkReceiver {
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private rejectFinished!: (error: Error) => void;
  private settled = false;
  private readonly assembler: ChunkAssembler;
  private readonly channels = new Map<Channel, Unsubscribe[]>();
  private readonly pending: Array<{ file: number; chunk: number }> = [];
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly remaining: number[] = [];
  private inFlightBytes = 0;
  private filesDone = 0;
  private startedAt: number | undefined;
  private lastDataAt = 0;
  private askedAgain = false;
  /** Set once everything is stored and "done" was sent; called when the sender acknowledges (or cannot). */
  private awaitingAck: (() => void) | undefined;
  private idleTimer: ReturnType<typeof setInterval> | undefined;
  private readonly counters = { bytesVerified: 0, resumedBytes: 0, chunksRequested: 0, chunksRejected: 0, firstDataMs: undefined as number | undefined };
  private readonly maxInFlightBytes: number;
  private readonly maxChunkAttempts: number;
  private readonly idleTimeoutMs: number;
  private readonly bytesTotal: number;
  /** The sender's file index → this manifest's, when they differ. */
  private readonly localIndex: Map<number, number> | undefined;

  constructor(
    private readonly manifest: TransferManifest,
    private readonly sink: ChunkSink,
    private readonly options: ChunkReceiverOptions = {},
  ) {
    this.assembler = new ChunkAssembler(manifest);
    this.maxInFlightBytes = options.maxInFlightBytes ?? 32 * 1024 * 1024;
    this.maxChunkAttempts = options.maxChunkAttempts ?? 3;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    this.bytesTotal = manifest.files.reduce((sum, file) => sum + file.size, 0);
    this.localIndex = options.senderIndex && new Map(options.senderIndex.map((remote, local) => [remote, local]));
    this.finished = new Promise<void>((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    this.finished.catch(() => {});
  }

  /** Finds what is already stored; finishes files that are complete. Call once, before start(). */
  async prepare(): Promise<void> {
    for (const [index, file] of this.manifest.files.entries()) {
      let present: Set<number>;
      try {
        present = new Set([...(await this.sink.prepareFile(file))].filter((chunk) => chunk >= 0 && chunk < file.chunks.length));
      } catch (error) {
        throw new StorageFailedError(`cannot prepare "${file.path}": ${(error as Error).message}`, { cause: error });
      }
      this.remaining[index] = file.chunks.length - present.size;
      for (const chunk of present) this.counters.resumedBytes += chunkLength(file, chunk);
      for (let chunk = 0; chunk < file.chunks.length; chunk++) if (!present.has(chunk)) this.pending.push({ file: index, chunk });
    }
    for (const index of this.manifest.files.keys()) if (this.remaining[index] === 0) await this.completeFile(index);
  }

  attach(channel: Channel): void {
    if (this.settled || this.channels.has(channel)) return;
    this.channels.set(channel, [channel.onMessage((message) => this.onMessage(channel, message)), channel.onClose(() => this.onChannelClosed(channel))]);
    if (!channel.isOpen()) this.onChannelClosed(channel);
    else if (this.startedAt !== undefined) this.topUp();
  }

  /** Starts asking for chunks (on the first open channel attached). */
  start(): void {
    if (this.startedAt !== undefined || this.settled) return;
    this.startedAt = Date.now();
    this.lastDataAt = this.startedAt;
    if (this.filesDone === this.manifest.files.length) return this.settle();
    this.idleTimer = setInterval(() => this.checkIdle(), Math.min(1000, Math.max(10, this.idleTimeoutMs / 4)));
    this.topUp();
  }

  stats(): ChunkReceiverStats {
    return { ...this.counters };
  }

  stop(): void {
    for (const stops of this.channels.values()) for (const stop of stops) stop();
    clearInterval(this.idleTimer);
    this.assembler.clear();
  }

  private onMessage(channel: Channel, message: ChannelMessage): void {
    if (this.awaitingAck && typeof message === "string") {
      const parsed = parseControlFrame(message);
      if (parsed.ok && parsed.message.type === "done") this.awaitingAck();
      return;
    }
    if (this.settled) return;
    if (typeof message === "string") return this.onControlFrame(channel, message);
    const parsed = parseDataFrame(message);
    if (!parsed.ok) return this.refuse(channel, parsed.error);
    const local = this.localIndex ? this.localIndex.get(parsed.file) : parsed.file;
    // A file of the sender's that is not in the selection was never asked for: nothing to do, as below.
    if (local === undefined) return;
    const frame = { ...parsed, file: local };
    const file = this.manifest.files[frame.file];
    if (!file || frame.chunk >= file.chunks.length) return this.refuse(channel, `no chunk ${frame.chunk} of file ${frame.file} in the manifest`, frame.file, frame.chunk);
    const entry = this.outstanding.get(chunkKey(frame.file, frame.chunk));
    // Not asked for, or already stored (a late duplicate): nothing to do.
    if (!entry) return;
    this.lastDataAt = Date.now();
    this.askedAgain = false;
    this.counters.firstDataMs ??= this.lastDataAt - (this.startedAt ?? this.lastDataAt);
    const result = this.assembler.accept(channel, frame);
    if (result.kind === "rejected") {
      this.refuse(channel, result.reason, frame.file, frame.chunk);
      this.retry(entry);
    } else if (result.kind === "complete" && !entry.verifying) {
      entry.verifying = true;
      void this.verifyChunk(entry, result.bytes).catch((error: unknown) => this.settle(error as Error));
    }
  }

  private onControlFrame(channel: Channel, raw: string): void {
    const parsed = parseControlFrame(raw);
    if (!parsed.ok) return this.refuse(channel, parsed.error);
    const frame = parsed.message;
    if (frame.type !== "error") return this.refuse(channel, `the receiver takes data and error frames; "${frame.type}" is for the sender`);
    const local = frame.file !== undefined && this.localIndex ? this.localIndex.get(frame.file) : frame.file;
    const about = local !== undefined ? ` (file ${local}${frame.chunk !== undefined ? `, chunk ${frame.chunk}` : ""})` : "";
    this.settle(new SenderFailedError(`${frame.code}${about}: ${frame.message}`));
  }

  private async verifyChunk(entry: Outstanding, bytes: Uint8Array): Promise<void> {
    const file = this.manifest.files[entry.file]!;
    const actual = await sha256Hex(bytes);
    if (this.settled) return;
    if (actual !== file.chunks[entry.chunk]) {
      entry.verifying = false;
      this.counters.chunksRejected += 1;
      return this.retry(entry);
    }
    try {
      await this.sink.writeChunk(file, entry.chunk, bytes);
    } catch (error) {
      throw new StorageFailedError(`cannot write chunk ${entry.chunk} of "${file.path}": ${(error as Error).message}`, { cause: error });
    }
    if (this.settled) return;
    this.outstanding.delete(chunkKey(entry.file, entry.chunk));
    this.inFlightBytes -= entry.length;
    this.counters.bytesVerified += entry.length;
    this.remaining[entry.file]! -= 1;
    this.reportProgress();
    this.topUp();
    if (this.remaining[entry.file] === 0) await this.completeFile(entry.file);
  }

  /** Asks again for a chunk that arrived damaged or out of order, up to the attempt limit. */
  private retry(entry: Outstanding): void {
    entry.attempts += 1;
    const file = this.manifest.files[entry.file]!;
    if (entry.attempts >= this.maxChunkAttempts) return this.settle(new ChunkIntegrityError(file.path, entry.chunk, entry.attempts));
    this.sendRequest(entry.file, [entry.chunk]);
  }

  private async completeFile(index: number): Promise<void> {
    const file = this.manifest.files[index]!;
    let actual: string;
    try {
      actual = await this.sink.fileSha256(file);
    } catch (error) {
      throw new StorageFailedError(`cannot hash "${file.path}": ${(error as Error).message}`, { cause: error });
    }
    if (actual !== file.sha256) {
      await this.sink.discardFile(file);
      throw new FileIntegrityError(file.path, file.sha256, actual);
    }
    try {
      await this.sink.finishFile(file);
    } catch (error) {
      throw new StorageFailedError(`cannot finish "${file.path}": ${(error as Error).message}`, { cause: error });
    }
    this.filesDone += 1;
    this.reportProgress();
    if (this.filesDone === this.manifest.files.length && this.startedAt !== undefined) this.settle();
  }

  /** Moves chunks from pending to outstanding while the window has room, and asks for them. */
  private topUp(): void {
    if (!this.openChannel()) return;
    const batch = new Map<number, number[]>();
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      const length = chunkLength(this.manifest.files[next.file]!, next.chunk);
      if (this.outstanding.size > 0 && this.inFlightBytes + length > this.maxInFlightBytes) break;
      this.pending.shift();
      this.outstanding.set(chunkKey(next.file, next.chunk), { ...next, length, attempts: 0, verifying: false });
      this.inFlightBytes += length;
      batch.set(next.file, [...(batch.get(next.file) ?? []), next.chunk]);
    }
    for (const [file, chunks] of batch) this.sendRequest(file, chunks);
  }

  private sendRequest(file: number, chunks: number[]): void {
    const channel = this.openChannel();
    if (!channel) return;
    for (let i = 0; i < chunks.length; i += MAX_CHUNKS_PER_REQUEST) {
      const slice = chunks.slice(i, i + MAX_CHUNKS_PER_REQUEST);
      channel.sendText(JSON.stringify({ v: TRANSFER_PROTOCOL_VERSION, type: "request", file: this.options.senderIndex?.[file] ?? file, chunks: slice }));
      this.counters.chunksRequested += slice.length;
    }
  }

  private openChannel(): Channel | undefined {
    for (const channel of this.channels.keys()) if (channel.isOpen()) return channel;
    return undefined;
  }

  private onChannelClosed(channel: Channel): void {
    this.assembler.dropChannel(channel);
    if (this.awaitingAck && !this.openChannel()) return this.awaitingAck();
    if (this.settled) return;
    if (!this.openChannel()) return this.settle(new TransferInterruptedError("every data channel closed"));
    // Requests sent on the closed channel may not have reached the sender: ask again (it ignores what it already has queued).
    this.requestOutstandingAgain();
  }

  /** Ends the transfer now with `reason` (e.g. the caller gave up); stored chunks are kept. */
  cancel(reason: Error): void {
    this.settle(reason);
  }

  private checkIdle(): void {
    if (this.outstanding.size === 0) return;
    const idle = Date.now() - this.lastDataAt;
    if (idle > this.idleTimeoutMs) return this.settle(new TransferStalledError(this.idleTimeoutMs, this.outstanding.size + this.pending.length));
    // Halfway there, ask once more: a request can be lost (sent before the other side listened, or on a channel that then closed).
    if (idle > this.idleTimeoutMs / 2 && !this.askedAgain) {
      this.askedAgain = true;
      this.requestOutstandingAgain();
    }
  }

  private requestOutstandingAgain(): void {
    const again = new Map<number, number[]>();
    for (const entry of this.outstanding.values()) if (!entry.verifying) again.set(entry.file, [...(again.get(entry.file) ?? []), entry.chunk]);
    for (const [file, chunks] of again) this.sendRequest(file, chunks);
  }

  private refuse(channel: Channel, reason: string, file?: number, chunk?: number): void {
    this.options.onRefusedFrame?.(reason);
    if (!channel.isOpen()) return;
    // `file` is this manifest's index; the sender knows its own.
    const senderFile = file === undefined ? undefined : (this.options.senderIndex?.[file] ?? file);
    const frame: ErrorFrame = { v: TRANSFER_PROTOCOL_VERSION, type: "error", code: "bad_frame", message: reason.slice(0, 500), file: senderFile, chunk };
    channel.sendText(JSON.stringify(frame));
  }

  private reportProgress(): void {
    this.options.onProgress?.({
      bytesVerified: this.counters.bytesVerified + this.counters.resumedBytes,
      bytesTotal: this.bytesTotal,
      filesDone: this.filesDone,
      filesTotal: this.manifest.files.length,
    });
  }

  private settle(error?: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearInterval(this.idleTimer);
    const channel = error ? undefined : this.openChannel();
    if (!channel) {
      this.stop();
      if (error) this.rejectFinished(error);
      else this.resolveFinished();
      return;
    }
    // Everything is stored. Say so, and wait (briefly) for the sender to acknowledge: a caller that closes the
    // connection as soon as this resolves would otherwise cut the "done" frame off, and the sender would report
    // an interrupted transfer that in fact completed.
    channel.sendText(JSON.stringify({ v: TRANSFER_PROTOCOL_VERSION, type: "done" }));
    const timer = setTimeout(() => this.awaitingAck?.(), DONE_ACK_TIMEOUT_MS);
    this.awaitingAck = () => {
      this.awaitingAck = undefined;
      clearTimeout(timer);
      this.stop();
      this.resolveFinished();
    };
  }
}
