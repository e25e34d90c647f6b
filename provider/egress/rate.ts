// The provider's cap on egress bandwidth, every job's connections together, in
// and out (--egress-rate-mb): a token bucket each relayed chunk draws from. A
// chunk past the tokens waits until they are back; pipe() holds its sender back
// meanwhile, so a capped connection buffers no more than a chunk or two.
import { performance } from "node:perf_hooks";
import { Transform, type Readable, type Writable } from "node:stream";

/** A burst of an eighth of a second's bytes (at least 64 KiB): enough for one socket read to pass without a wait. */
const BURST_SECONDS = 1 / 8;
const MIN_BURST_BYTES = 64 * 1024;

export class EgressRate {
  private readonly burstBytes: number;
  /** Below zero: bytes already let through on credit, paid back by the chunks' waits. */
  private tokens: number;
  private refilledAt = performance.now();

  constructor(readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError("an egress rate must be above zero bytes a second");
    this.burstBytes = Math.max(MIN_BURST_BYTES, bytesPerSecond * BURST_SECONDS);
    this.tokens = this.burstBytes;
  }

  /** Takes `bytes`; how many milliseconds to hold them before they pass (0: at once). */
  take(bytes: number): number {
    const now = performance.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.refilledAt) / 1000) * this.bytesPerSecond);
    this.refilledAt = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSecond) * 1000;
  }

  /** `from` piped into `to` at this rate (with the rest of the provider's egress). */
  pipe(from: Readable, to: Writable): void {
    const held = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        const waitMs = this.take(chunk.length);
        if (waitMs === 0) done(null, chunk);
        else setTimeout(() => done(null, chunk), waitMs);
      },
    });
    // Either end going away ends the link between them.
    held.on("error", () => undefined);
    from.pipe(held).pipe(to);
  }
}

/** `from` piped into `to`, at the provider's rate when it has one. */
export function relayAt(rate: EgressRate | undefined, from: Readable, to: Writable): void {
  if (rate) rate.pipe(from, to);
  else from.pipe(to);
}
