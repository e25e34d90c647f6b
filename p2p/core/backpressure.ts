// Keeps a channel's send buffer bounded: stop queueing above the high mark,
// start again once the buffer has drained to the low mark. Without it a fast
// sender queues the whole file in memory.
import type { Channel } from "./channel.ts";

export interface BackpressureLimits {
  /** Pause when more than this many bytes are queued. */
  highWaterBytes: number;
  /** Resume when the queue has drained to this. */
  lowWaterBytes: number;
}

export const DEFAULT_BACKPRESSURE: BackpressureLimits = { highWaterBytes: 1024 * 1024, lowWaterBytes: 256 * 1024 };

/** A safety net only: if a low-threshold event were ever lost, the sender looks again this often. */
const RECHECK_MS = 250;

export class ChannelClosedError extends Error {
  override name = "ChannelClosedError";
  constructor(label: string) {
    super(`data channel "${label}" closed`);
  }
}

export interface BackpressureStats {
  pauses: number;
  /** The most bytes seen queued right after a send. */
  maxBufferedAmount: number;
}

export class Backpressure {
  readonly stats: BackpressureStats = { pauses: 0, maxBufferedAmount: 0 };

  constructor(
    private readonly channel: Channel,
    private readonly limits: BackpressureLimits = DEFAULT_BACKPRESSURE,
  ) {
    channel.setBufferedAmountLowThreshold(limits.lowWaterBytes);
  }

  /** Call after each send. */
  noteSent(): void {
    const queued = this.channel.bufferedAmount();
    if (queued > this.stats.maxBufferedAmount) this.stats.maxBufferedAmount = queued;
  }

  /** Undefined when the channel can take more now (the common case, no promise made); else resolves once it has drained. */
  whenWritable(): Promise<void> | undefined {
    if (!this.channel.isOpen()) return Promise.reject(new ChannelClosedError(this.channel.label));
    if (this.channel.bufferedAmount() <= this.limits.highWaterBytes) return undefined;
    this.stats.pauses += 1;
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!this.channel.isOpen()) finish(new ChannelClosedError(this.channel.label));
        else if (this.channel.bufferedAmount() <= this.limits.lowWaterBytes) finish();
      };
      const finish = (error?: Error) => {
        stopLow();
        stopClose();
        clearInterval(timer);
        if (error) reject(error);
        else resolve();
      };
      const stopLow = this.channel.onBufferedAmountLow(check);
      const stopClose = this.channel.onClose(check);
      const timer = setInterval(check, RECHECK_MS);
      // The buffer may have drained between the first look and subscribing.
      check();
    });
  }
}
