// Forwards a job's output to the hub in batches (at most every FLUSH_MS or
// CHUNK_BYTES), caps the total so a chatty job cannot flood anyone, and keeps
// a bounded backlog while the connection is down.
export interface LogForwarderOptions {
  send(data: string): boolean;
  flushMs?: number;
  chunkBytes?: number;
  maxTotalBytes?: number;
  maxBacklogBytes?: number;
}

export class LogForwarder {
  private buffer = "";
  private forwarded = 0;
  private truncated = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushMs: number;
  private readonly chunkBytes: number;
  private readonly maxTotalBytes: number;
  private readonly maxBacklogBytes: number;

  constructor(private readonly options: LogForwarderOptions) {
    this.flushMs = options.flushMs ?? 250;
    this.chunkBytes = options.chunkBytes ?? 16 * 1024;
    this.maxTotalBytes = options.maxTotalBytes ?? 10 * 1024 * 1024;
    this.maxBacklogBytes = options.maxBacklogBytes ?? 64 * 1024;
  }

  push(chunk: string): void {
    if (this.truncated) return;
    if (this.forwarded + this.buffer.length + chunk.length > this.maxTotalBytes) {
      this.buffer += `\n[pond: output truncated after ${this.maxTotalBytes} bytes]\n`;
      this.truncated = true;
    } else {
      this.buffer += chunk;
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
        if (this.buffer.length > this.maxBacklogBytes) this.buffer = this.buffer.slice(this.buffer.length - this.maxBacklogBytes);
        return;
      }
      this.forwarded += piece.length;
      this.buffer = this.buffer.slice(piece.length);
    }
  }
}
