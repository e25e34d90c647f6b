// The sending side: answers the receiver's chunk requests. Requested chunks go
// into one queue that every attached channel drains, so chunks are striped over
// the channels and a faster channel simply takes more. Each channel sends a
// whole chunk in order, pausing whenever its send buffer is full, and reads its
// next chunk while it sends this one (see pump).
import {
  chunkLength,
  MAX_DATA_PAYLOAD,
  parseControlFrame,
  TRANSFER_PROTOCOL_VERSION,
  writeDataFrameHeader,
  DATA_HEADER_BYTES,
  type ErrorFrame,
  type RequestFrame,
  type TransferFile,
  type TransferManifest,
} from "../../protocol/transfer.ts";
import { Backpressure, ChannelClosedError, DEFAULT_BACKPRESSURE, type BackpressureLimits } from "./backpressure.ts";
import type { Channel, ChannelMessage, Unsubscribe } from "./channel.ts";
import { chunkKey } from "./chunkAssembler.ts";
import { SenderFailedError, TransferInterruptedError } from "./errors.ts";
import type { ChunkSource } from "./storage.ts";

export interface ChunkSenderOptions {
  backpressure?: BackpressureLimits;
  /** Each request as it arrives: which chunks of which file the receiver asked for. */
  onRequest?(file: TransferFile, chunks: readonly number[]): void;
  /** After each chunk is queued on a channel. */
  onProgress?(progress: { bytesSent: number }): void;
  /** A frame from the receiver that was refused (it is answered with an error frame and otherwise ignored). */
  onRefusedFrame?(reason: string): void;
  /** The receiver refused something this side sent; the transfer goes on (it asks again for what it still needs). */
  onRemoteError?(error: ErrorFrame): void;
}

export interface ChunkSenderStats {
  bytesSent: number;
  chunksSent: number;
  /** How often a channel waited for its send buffer to drain. */
  pauses: number;
  /** The most bytes any channel had queued right after a send. */
  maxBufferedAmount: number;
  /** Channels that carried at least one chunk. */
  channelsUsed: number;
  /**
   * How often a channel's send buffer was found empty when the sender came back
   * to it (a chunk read from disk, or a pause over): the link sat idle waiting
   * for Pond rather than Pond waiting for the link.
   */
  ranDry: number;
}

interface ChunkRef {
  file: number;
  chunk: number;
}

/** A chunk taken off the queue with its read already started. */
interface ReadAhead {
  ref: ChunkRef;
  bytes: Promise<Uint8Array>;
}

interface AttachedChannel {
  channel: Channel;
  backpressure: Backpressure;
  /** One reusable frame buffer per channel: a send copies it before returning. */
  frame: Uint8Array;
  pumping: boolean;
  chunksSent: number;
  ranDry: number;
  unsubscribe: Unsubscribe[];
}

export class ChunkSender {
  /** Resolves when the receiver says it has everything; rejects when every channel closed first, or a chunk cannot be read. */
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private rejectFinished!: (error: Error) => void;
  private settled = false;
  private readonly queue: ChunkRef[] = [];
  private readonly queued = new Set<string>();
  private readonly attached = new Map<Channel, AttachedChannel>();
  private bytesSent = 0;

  constructor(
    private readonly manifest: TransferManifest,
    private readonly source: ChunkSource,
    private readonly options: ChunkSenderOptions = {},
  ) {
    this.finished = new Promise<void>((resolve, reject) => {
      this.resolveFinished = resolve;
      this.rejectFinished = reject;
    });
    // The caller may only await finished later; a rejection must not go unhandled before then.
    this.finished.catch(() => {});
  }

  attach(channel: Channel): void {
    if (this.settled || this.attached.has(channel)) return;
    const state: AttachedChannel = {
      channel,
      backpressure: new Backpressure(channel, this.options.backpressure ?? DEFAULT_BACKPRESSURE),
      frame: new Uint8Array(DATA_HEADER_BYTES + MAX_DATA_PAYLOAD),
      pumping: false,
      chunksSent: 0,
      ranDry: 0,
      unsubscribe: [],
    };
    state.unsubscribe.push(
      channel.onMessage((message) => this.onMessage(state, message)),
      channel.onClose(() => this.onChannelClosed(state)),
    );
    this.attached.set(channel, state);
    if (!channel.isOpen()) this.onChannelClosed(state);
    else void this.pump(state);
  }

  stats(): ChunkSenderStats {
    const channels = [...this.attached.values()];
    return {
      bytesSent: this.bytesSent,
      chunksSent: channels.reduce((sum, c) => sum + c.chunksSent, 0),
      pauses: channels.reduce((sum, c) => sum + c.backpressure.stats.pauses, 0),
      maxBufferedAmount: Math.max(0, ...channels.map((c) => c.backpressure.stats.maxBufferedAmount)),
      channelsUsed: channels.filter((c) => c.chunksSent > 0).length,
      ranDry: channels.reduce((sum, c) => sum + c.ranDry, 0),
    };
  }

  /** Ends the transfer now with `reason` (e.g. the caller gave up). */
  cancel(reason: Error): void {
    this.settle(reason);
  }

  /** Stops listening on every channel; the channels themselves stay open. */
  stop(): void {
    for (const state of this.attached.values()) for (const stop of state.unsubscribe) stop();
    this.queue.length = 0;
    this.queued.clear();
  }

  private onMessage(state: AttachedChannel, message: ChannelMessage): void {
    if (this.settled) return;
    if (typeof message !== "string") return this.refuse(state.channel, "bad_frame", "the sender takes only JSON control frames; binary frames are refused");
    const parsed = parseControlFrame(message);
    if (!parsed.ok) return this.refuse(state.channel, "bad_frame", parsed.error);
    const frame = parsed.message;
    if (frame.type === "request") this.onRequest(state.channel, frame);
    else if (frame.type === "done") {
      // Acknowledge, so the receiver knows its "done" arrived before it lets its caller close the connection.
      if (state.channel.isOpen()) state.channel.sendText(JSON.stringify({ v: TRANSFER_PROTOCOL_VERSION, type: "done" }));
      this.settle();
    }
    else this.options.onRemoteError?.(frame);
  }

  private onRequest(channel: Channel, request: RequestFrame): void {
    const file = this.manifest.files[request.file];
    if (!file) return this.refuse(channel, "unknown_chunk", `the manifest has ${this.manifest.files.length} file(s); there is no file ${request.file}`);
    const outside = request.chunks.find((chunk) => chunk >= file.chunks.length);
    if (outside !== undefined) return this.refuse(channel, "unknown_chunk", `"${file.path}" has ${file.chunks.length} chunk(s); there is no chunk ${outside}`, request.file);
    this.options.onRequest?.(file, request.chunks);
    for (const chunk of request.chunks) {
      const key = chunkKey(request.file, chunk);
      if (this.queued.has(key)) continue;
      this.queued.add(key);
      this.queue.push({ file: request.file, chunk });
    }
    for (const state of this.attached.values()) void this.pump(state);
  }

  /**
   * Sends queued chunks on one channel until the queue is empty. The next
   * chunk's read starts before this one's frames go out: waiting for the disk
   * only after the last frame lets the send buffer drain meanwhile, and an
   * empty buffer is a link doing nothing (through a TURN relay, where the
   * buffer drains slowly and each refill is late, that idle time adds up). One
   * chunk read ahead per channel bounds the extra memory to a chunk each.
   */
  private async pump(state: AttachedChannel): Promise<void> {
    if (state.pumping) return;
    state.pumping = true;
    let current = this.takeNext();
    try {
      while (current && !this.settled) {
        const next = this.takeNext();
        try {
          await this.sendChunk(state, current);
        } catch (error) {
          if (!(error instanceof ChannelClosedError)) throw error;
          // Another channel (if any is left) sends them instead, in the same order.
          if (next) this.requeueFirst(next.ref);
          this.requeueFirst(current.ref);
          return;
        }
        // What was asked for while this chunk went out is queued behind it: with nothing read ahead,
        // look again, or it would wait for the receiver to ask a second time (half its idle timeout).
        current = next ?? this.takeNext();
      }
    } catch (error) {
      this.settle(error as Error);
    } finally {
      state.pumping = false;
    }
  }

  /** The next queued chunk, its read started; undefined when the queue is empty. */
  private takeNext(): ReadAhead | undefined {
    const ref = this.settled ? undefined : this.queue.shift();
    if (!ref) return undefined;
    this.queued.delete(chunkKey(ref.file, ref.chunk));
    const file = this.manifest.files[ref.file]!;
    const bytes = this.source.read(file, ref.chunk * file.chunk_size, chunkLength(file, ref.chunk));
    // A read ahead that is never awaited (its channel closed, the transfer ended) must not be an unhandled rejection.
    bytes.catch(() => {});
    return { ref, bytes };
  }

  private async sendChunk(state: AttachedChannel, { ref, bytes: reading }: ReadAhead): Promise<void> {
    const file = this.manifest.files[ref.file]!;
    const length = chunkLength(file, ref.chunk);
    let bytes: Uint8Array;
    try {
      bytes = await reading;
    } catch (error) {
      const detail = `cannot read chunk ${ref.chunk} of "${file.path}": ${(error as Error).message}`;
      this.sendError(state.channel, { code: "read_failed", message: detail.slice(0, 500), file: ref.file, chunk: ref.chunk });
      throw new SenderFailedError(detail);
    }
    if (bytes.byteLength !== length) throw new SenderFailedError(`read ${bytes.byteLength} bytes of chunk ${ref.chunk} of "${file.path}", expected ${length}`);
    if (state.chunksSent > 0) this.noteIfDry(state);
    for (let offset = 0; offset < length; offset += MAX_DATA_PAYLOAD) {
      if (this.settled) return;
      const wait = state.backpressure.whenWritable();
      if (wait) {
        await wait;
        this.noteIfDry(state);
      }
      const payload = bytes.subarray(offset, Math.min(length, offset + MAX_DATA_PAYLOAD));
      writeDataFrameHeader(state.frame, { file: ref.file, chunk: ref.chunk, offset });
      state.frame.set(payload, DATA_HEADER_BYTES);
      try {
        state.channel.sendBinary(state.frame.subarray(0, DATA_HEADER_BYTES + payload.byteLength));
      } catch (error) {
        if (!state.channel.isOpen()) throw new ChannelClosedError(state.channel.label);
        throw error;
      }
      state.backpressure.noteSent();
    }
    state.chunksSent += 1;
    this.bytesSent += length;
    this.options.onProgress?.({ bytesSent: this.bytesSent });
  }

  private noteIfDry(state: AttachedChannel): void {
    if (state.channel.isOpen() && state.channel.bufferedAmount() === 0) state.ranDry += 1;
  }

  private requeueFirst(ref: ChunkRef): void {
    const key = chunkKey(ref.file, ref.chunk);
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.unshift(ref);
  }

  private onChannelClosed(state: AttachedChannel): void {
    if (this.settled) return;
    const open = [...this.attached.values()].filter((s) => s.channel.isOpen() && s !== state);
    if (open.length === 0) this.settle(new TransferInterruptedError("every data channel closed before the receiver had everything"));
    else for (const other of open) void this.pump(other);
  }

  private refuse(channel: Channel, code: ErrorFrame["code"], message: string, file?: number): void {
    this.options.onRefusedFrame?.(message);
    this.sendError(channel, { code, message: message.slice(0, 500), file });
  }

  private sendError(channel: Channel, error: Omit<ErrorFrame, "v" | "type">): void {
    if (!channel.isOpen()) return;
    const frame: ErrorFrame = { v: TRANSFER_PROTOCOL_VERSION, type: "error", ...error };
    channel.sendText(JSON.stringify(frame));
  }

  private settle(error?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.stop();
    if (error) this.rejectFinished(error);
    else this.resolveFinished();
  }
}
