// Forwards a job's output to the hub within a budget (protocol/limits.ts,
// logLimits): a token bucket lets out forwardBytesPerSecond after a burst, in
// pieces of up to forwardChunkBytes, at most every flushMs. What waits is only
// the newest output, a ring of forwarderTailBytes: past it the oldest output is
// dropped and counted, and the next piece sent says how much. When the job ends
// the ring goes out whole, past the budget: output is only ever dropped before
// the ring, so the log's end (and the tail stored on the job) is exact. The same
// ring is the backlog while the hub connection is down. Each chunk may carry a
// cursor (its timestamp in Docker's log); `onForwarded` hears the cursor of the
// newest entry dealt with (sent, or dropped), so a restarted daemon reads on
// from there.
import { formatBytes } from "../../protocol/byteSize.ts";
import { logLimits } from "../../protocol/limits.ts";

export interface LogForwarderOptions {
  /** Sends one piece to the hub; false when not connected (nothing sent). */
  send(data: string): boolean;
  onForwarded?(cursor: string, forwardedBytes: number): void;
  flushMs?: number;
  chunkBytes?: number;
  bytesPerSecond?: number;
  burstBytes?: number;
  /** The most output held unsent: the exact end of the log. */
  tailBytes?: number;
  /** How long output held when the job ended waits for the connection before it is given up. */
  finishedRetryMs?: number;
}

interface Piece {
  text: string;
  /** Docker's timestamp of the newest entry that ends with this piece. */
  cursor?: string;
}

/** Entries shorter than this are joined to the one before: a flood of short lines costs no more objects than a few big ones. */
const JOIN_BELOW_CHARS = 1024;

export class LogForwarder {
  private pieces: Piece[] = [];
  private head = 0;
  /** Characters held unsent. */
  private held = 0;
  /** UTF-8 bytes dropped since the last piece sent, and the newest cursor among them. */
  private dropped = 0;
  private droppedCursor: string | undefined;
  private forwarded = 0;
  private endsLine = true;
  private tokens: number;
  private refilledAt = Date.now();
  private finishedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  private readonly bytesPerSecond: number;
  private readonly burstBytes: number;
  private readonly tailBytes: number;
  private readonly finishedRetryMs: number;

  constructor(private readonly options: LogForwarderOptions) {
    this.flushMs = options.flushMs ?? 250;
    this.chunkBytes = options.chunkBytes ?? logLimits.forwardChunkBytes;
    this.bytesPerSecond = options.bytesPerSecond ?? logLimits.forwardBytesPerSecond;
    this.burstBytes = options.burstBytes ?? logLimits.forwardBurstBytes;
    this.tailBytes = options.tailBytes ?? logLimits.forwarderTailBytes;
    this.finishedRetryMs = options.finishedRetryMs ?? 5 * 60_000;
    this.tokens = this.burstBytes;
  }

  push(chunk: string, cursor?: string): void {
    if (this.finishedAt !== undefined || chunk.length === 0) return;
    this.append(chunk, cursor);
    if (this.held > this.tailBytes) this.drop(this.held - this.tailBytes);
    if (this.held >= this.chunkBytes) this.flush();
    else this.schedule();
  }

  /** Sends what the budget allows now (everything, once the job has ended); the rest waits for the next flush. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const finished = this.finishedAt !== undefined;
    this.refill();
    while (this.held > 0) {
      const size = Math.min(this.chunkBytes, this.held);
      if (!finished && this.tokens < size) break;
      if (!this.sendFront(size)) break;
      this.tokens = Math.max(0, this.tokens - size);
    }
    if (this.held === 0) return;
    if (finished && Date.now() - this.finishedAt! > this.finishedRetryMs) return this.clear();
    this.schedule();
  }

  /** The job ended: what is held goes out now, past the budget (or as soon as the connection is back). */
  finish(): void {
    if (this.finishedAt !== undefined) return;
    this.finishedAt = Date.now();
    this.flush();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.flushMs);
    // Output that waits must not keep a stopping daemon alive.
    this.timer.unref?.();
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.refilledAt) * this.bytesPerSecond) / 1000);
    this.refilledAt = now;
  }

  /** Sends the oldest `size` characters held, after the notice of what was dropped before them. */
  private sendFront(size: number): boolean {
    const text = this.peek(size);
    const notice = this.dropped > 0 ? `${this.endsLine ? "" : "\n"}[pond: ${formatBytes(this.dropped)} of output dropped (${this.dropped} bytes)]\n` : "";
    if (!this.options.send(notice + text)) return false;
    this.forwarded += notice.length + text.length;
    this.endsLine = text.endsWith("\n");
    const cursor = this.consume(text.length).cursor ?? this.droppedCursor;
    this.dropped = 0;
    this.droppedCursor = undefined;
    if (cursor !== undefined) this.options.onForwarded?.(cursor, this.forwarded);
    return true;
  }

  private append(text: string, cursor?: string): void {
    const last = this.pieces.length > this.head ? this.pieces[this.pieces.length - 1]! : undefined;
    if (last && last.text.length < JOIN_BELOW_CHARS) {
      last.text += text;
      if (cursor !== undefined) last.cursor = cursor;
    } else {
      this.pieces.push(cursor === undefined ? { text } : { text, cursor });
    }
    this.held += text.length;
  }

  private drop(length: number): void {
    const { parts, cursor } = this.consume(length, true);
    for (const part of parts) this.dropped += Buffer.byteLength(part);
    if (cursor !== undefined) this.droppedCursor = cursor;
  }

  /** The oldest `length` characters held, left where they are. */
  private peek(length: number): string {
    let text = "";
    for (let i = this.head; i < this.pieces.length && text.length < length; i++) text += this.pieces[i]!.text;
    return text.slice(0, cutAt(text, length, false));
  }

  /**
   * Takes the oldest `length` characters (one more when dropping, one fewer when sending, rather
   * than split a surrogate pair); returns them and the cursor of the newest piece taken whole.
   */
  private consume(length: number, dropping = false): { parts: string[]; cursor?: string } {
    const parts: string[] = [];
    let taken = 0;
    let cursor: string | undefined;
    while (this.head < this.pieces.length && taken < length) {
      const piece = this.pieces[this.head]!;
      const want = length - taken;
      if (piece.text.length <= want) {
        parts.push(piece.text);
        taken += piece.text.length;
        if (piece.cursor !== undefined) cursor = piece.cursor;
        this.head += 1;
        continue;
      }
      const cut = cutAt(piece.text, want, dropping);
      parts.push(piece.text.slice(0, cut));
      taken += cut;
      piece.text = piece.text.slice(cut);
      break;
    }
    this.held -= taken;
    if (this.head > 1024 && this.head * 2 > this.pieces.length) {
      this.pieces = this.pieces.slice(this.head);
      this.head = 0;
    }
    return cursor === undefined ? { parts } : { parts, cursor };
  }

  private clear(): void {
    this.pieces = [];
    this.head = 0;
    this.held = 0;
  }
}

/** Where to cut `text` near `at` without splitting a surrogate pair: after it (`later`) or before it. */
function cutAt(text: string, at: number, later: boolean): number {
  if (at <= 0 || at >= text.length) return Math.max(0, Math.min(at, text.length));
  const high = text.charCodeAt(at - 1);
  if (high < 0xd800 || high > 0xdbff) return at;
  return later ? at + 1 : at - 1;
}
