// The provider's cap on egress bandwidth, every job's connections together, in
// and out (--egress-rate-mb): a token bucket each relayed chunk draws from, and
// jobs served in turn by deficit round robin while they wait for tokens, so a
// job with many connections gets no more than a job with one. A chunk waiting
// for its turn holds its pipe (pipe() stops reading meanwhile), so a capped
// connection buffers no more than a chunk or two.
import { performance } from "node:perf_hooks";
import { Transform, type Readable, type Writable } from "node:stream";

/** A burst of an eighth of a second's bytes (at least 64 KiB): enough for one socket read to pass without a wait. */
const BURST_SECONDS = 1 / 8;
const MIN_BURST_BYTES = 64 * 1024;
/** Bytes a waiting job may send per turn: one socket read. */
const QUANTUM_BYTES = 64 * 1024;

interface Waiting {
  bytes: number;
  pass: () => void;
}

/** One job's part of the provider's cap: its connections queue together and take one turn between other jobs'. */
export class EgressShare {
  /** Chunks of this job's connections waiting for tokens, oldest first. */
  readonly waiting: Waiting[] = [];
  /** Bytes this job may still send in its current turn (deficit round robin). */
  deficit = 0;
  /** What one turn lets through: the most a read under the cap should take (hostReads.ts). */
  readonly turnBytes = QUANTUM_BYTES;
  closed = false;

  constructor(private readonly rate: EgressRate) {}

  /** `from` piped into `to` within the cap; `end: false` leaves `to` open when `from` ends. */
  pipe(from: Readable, to: Writable, options: { end?: boolean } = {}): void {
    const held = new Transform({
      transform: (chunk: Buffer, _encoding, done) => this.rate.request(this, chunk.length, () => done(null, chunk)),
    });
    // Either end going away ends the link between them.
    held.on("error", () => undefined);
    from.pipe(held).pipe(to, options);
  }

  /** `pass` once `bytes` of this job's may go (what a handler holds and writes itself). */
  hold(bytes: number, pass: () => void): void {
    this.rate.request(this, bytes, pass);
  }

  /** The job ended: its waiting chunks (of connections already destroyed) stop taking turns and tokens. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
    this.rate.dropped(this);
  }
}

export class EgressRate {
  private readonly burstBytes: number;
  /** Below zero: bytes already let through on credit; nobody passes until it is paid back. */
  private tokens: number;
  private refilledAt = performance.now();
  /** Jobs with chunks waiting, in turn order; `turn` is the one being served. */
  private readonly ring: EgressShare[] = [];
  private turn = 0;
  private turnStarted = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError("an egress rate must be above zero bytes a second");
    this.burstBytes = Math.max(MIN_BURST_BYTES, bytesPerSecond * BURST_SECONDS);
    this.tokens = this.burstBytes;
  }

  /** A new job's part of the cap. */
  share(): EgressShare {
    return new EgressShare(this);
  }

  /** `pass` is called once `bytes` may go: at once while nobody waits and tokens are left, else in the job's turn. */
  request(share: EgressShare, bytes: number, pass: () => void): void {
    if (share.closed) return;
    this.refill();
    if (this.ring.length === 0 && this.tokens >= 0) {
      this.tokens -= bytes;
      pass();
      return;
    }
    share.waiting.push({ bytes, pass });
    if (share.waiting.length === 1) this.ring.push(share);
    this.schedule();
  }

  /** A closed share leaves the ring. */
  dropped(share: EgressShare): void {
    const at = this.ring.indexOf(share);
    if (at < 0) return;
    this.leaveRing(at);
    this.schedule();
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((now - this.refilledAt) / 1000) * this.bytesPerSecond);
    this.refilledAt = now;
  }

  /** Serves waiting chunks while tokens last, each job in its turn, then sleeps until the debt is paid. */
  private serve(): void {
    this.timer = undefined;
    this.refill();
    while (this.tokens >= 0 && this.ring.length > 0) {
      const share = this.ring[this.turn]!;
      if (!this.turnStarted) {
        share.deficit += QUANTUM_BYTES;
        this.turnStarted = true;
      }
      const head = share.waiting[0]!;
      if (head.bytes > share.deficit) {
        this.turnStarted = false;
        this.turn = (this.turn + 1) % this.ring.length;
        continue;
      }
      share.waiting.shift();
      share.deficit -= head.bytes;
      this.tokens -= head.bytes;
      if (share.waiting.length === 0) this.leaveRing(this.turn);
      head.pass();
    }
    this.schedule();
  }

  private leaveRing(at: number): void {
    const [share] = this.ring.splice(at, 1);
    share!.deficit = 0;
    if (at < this.turn) this.turn--;
    else if (at === this.turn) this.turnStarted = false;
    if (this.turn >= this.ring.length) this.turn = 0;
  }

  private schedule(): void {
    if (this.timer || this.ring.length === 0) return;
    const waitMs = this.tokens >= 0 ? 0 : (-this.tokens / this.bytesPerSecond) * 1000;
    this.timer = setTimeout(() => this.serve(), waitMs);
  }
}

/** `from` piped into `to`, within the job's part of the provider's cap when it has one. */
export function relayAt(share: EgressShare | undefined, from: Readable, to: Writable, options: { end?: boolean } = {}): void {
  if (share) share.pipe(from, to, options);
  else from.pipe(to, options);
}
