// Forwards a job's output to the hub in batches (at most every FLUSH_MS or
// CHUNK_BYTES), and caps it so a chatty job cannot flood anyone: past the cap
// only a bounded ring of the newest output is kept, sent after a marker when
// the job ends, so the log shows its start and its end. While the connection is
// down a bounded backlog waits. Each chunk may carry a cursor (its timestamp in
// Docker's log); `onForwarded` hears the cursor of the last chunk sent whole,
// so a restarted daemon can read on from there.
export interface LogForwarderOptions {
  send(data: string): boolean;
  onForwarded?(cursor: string, forwardedBytes: number): void;
  flushMs?: number;
  chunkBytes?: number;
  /** The head: output forwarded as it comes, up to this much. */
  maxTotalBytes?: number;
  /** The tail: the newest output past the head, sent when the job ends. */
  tailBytes?: number;
  maxBacklogBytes?: number;
  /** What an earlier daemon forwarded of this job already (a re-adopted container). */
  alreadyForwarded?: number;
}

interface Mark {
  /** Where in the buffer the chunk carrying this cursor ends. */
  end: number;
  cursor: string;
}

export class LogForwarder {
  private buffer = "";
  private marks: Mark[] = [];
  private forwarded: number;
  private tail = "";
  private tailCursor: string | undefined;
  /** Bytes past the head that did not fit the tail ring. */
  private skipped = 0;
  private truncated = false;
  private finished = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  private readonly maxTotalBytes: number;
  private readonly tailBytes: number;
  private readonly maxBacklogBytes: number;

  constructor(private readonly options: LogForwarderOptions) {
    this.flushMs = options.flushMs ?? 250;
    this.chunkBytes = options.chunkBytes ?? 16 * 1024;
    this.maxTotalBytes = options.maxTotalBytes ?? 10 * 1024 * 1024;
    this.tailBytes = options.tailBytes ?? 256 * 1024;
    this.maxBacklogBytes = options.maxBacklogBytes ?? 64 * 1024;
    this.forwarded = options.alreadyForwarded ?? 0;
    this.truncated = this.forwarded >= this.maxTotalBytes;
  }

  push(chunk: string, cursor?: string): void {
    if (this.finished || chunk.length === 0) return;
    if (this.truncated) return this.keepInTail(chunk, cursor);
    const room = this.maxTotalBytes - this.forwarded - this.buffer.length;
    if (chunk.length > room) {
      this.append(chunk.slice(0, Math.max(0, room)));
      this.truncated = true;
      this.keepInTail(chunk.slice(Math.max(0, room)), cursor);
    } else {
      this.append(chunk, cursor);
    }
    if (this.buffer.length >= this.chunkBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.buffer.length > 0) {
      const piece = this.buffer.slice(0, this.chunkBytes);
      if (!this.options.send(piece)) {
        // Not connected: keep the newest output, drop the oldest past the backlog bound.
        if (this.buffer.length > this.maxBacklogBytes) this.consume(this.buffer.length - this.maxBacklogBytes);
        return;
      }
      this.forwarded += piece.length;
      const cursor = this.consume(piece.length);
      if (cursor !== undefined) this.options.onForwarded?.(cursor, this.forwarded);
    }
  }

  /** The job ended: what is buffered goes out, then, if the output was cut, the marker and the tail. */
  finish(): void {
    if (this.finished) return;
    if (this.truncated) {
      const skipped = this.skipped > 0 ? `; ${this.skipped} bytes skipped, the last ${this.tail.length} follow` : "";
      this.append(`\n[pond: output truncated after ${this.maxTotalBytes} bytes${skipped}]\n`);
      this.append(this.tail, this.tailCursor);
      this.tail = "";
    }
    this.finished = true;
    this.flush();
  }

  private append(text: string, cursor?: string): void {
    this.buffer += text;
    if (cursor !== undefined) this.marks.push({ end: this.buffer.length, cursor });
  }

  /** Drops `length` characters from the buffer's front; returns the cursor of the last chunk that left whole. */
  private consume(length: number): string | undefined {
    this.buffer = this.buffer.slice(length);
    let cursor: string | undefined;
    while (this.marks.length > 0 && this.marks[0]!.end <= length) cursor = this.marks.shift()!.cursor;
    for (const mark of this.marks) mark.end -= length;
    return cursor;
  }

  private keepInTail(chunk: string, cursor?: string): void {
    this.tail += chunk;
    if (cursor !== undefined) this.tailCursor = cursor;
    if (this.tail.length > this.tailBytes) {
      this.skipped += this.tail.length - this.tailBytes;
      this.tail = this.tail.slice(this.tail.length - this.tailBytes);
    }
  }
}
