// What a host sends a job, in a tunnel or as a plain HTTP answer after its
// head (what a model hub's weights take): the host's socket read into one
// buffer of its own, reused for every read, each read passed to the job's
// socket as it is. Node's own reads are 64 KiB chunks, each a fresh Buffer
// through the stream machinery; at GB/s that was where the proxy's CPU went
// (bench:egress). While the job's socket still holds part of a read (a slow
// reader), or the provider's cap holds it back, the host is not read again:
// the buffer is never overwritten while in use, and a slow job holds the host
// back instead of filling the daemon's memory.
import type { OnReadOpts, Socket } from "node:net";
import type { EgressShare } from "./rate.ts";

/** One read of the host's socket at most, where a job's connections leave room for it (readBytesFor). */
export const HOST_READ_BYTES = 256 * 1024;
/** Node's own read size: the least a connection reads at a time. */
const MIN_READ_BYTES = 64 * 1024;
/** What a job's buffers may hold together, all its connections open: 256 KiB each at the default 32. */
const JOB_READ_BUFFER_BYTES = 8 * 1024 * 1024;

/** The read size for each of a job's connections: 256 KiB at the default 32, down to Node's own 64 KiB for a provider that allows more. */
export function readBytesFor(maxConnections: number): number {
  return Math.max(MIN_READ_BYTES, Math.min(HOST_READ_BYTES, Math.floor(JOB_READ_BUFFER_BYTES / maxConnections)));
}

export interface HostReadRelay {
  /** Counts a read before it is passed on; may end both sockets (the job's budget). */
  count: (bytes: number) => void;
  /**
   * Each of the host's first reads, before any passes on (the shared buffer: what it keeps, it copies): what
   * goes to the job in their place once there are enough ("more" until then; "stop" when it has ended the
   * connection itself). A plain HTTP answer's head.
   */
  opening?: (read: Buffer) => Buffer | "more" | "stop";
}

export class HostReads {
  private readonly buffer: Buffer;
  private readonly share: EgressShare | undefined;
  private pass: ((chunk: Buffer) => boolean) | undefined;
  /** A read that came before relay() (a host that speaks first): a copy, since the buffer is read into again. */
  private early: Buffer | undefined;

  /** For the host socket's net.connect(): its reads come here, not as 'data' events. */
  readonly onread: OnReadOpts;

  /**
   * `share`: the job's part of the provider's cap, when it has one. Under it, reads of one turn's bytes: a
   * read that goes on credit passes the cap by no more than one turn, as the cap's burst allows.
   */
  constructor(share?: EgressShare, readBytes = HOST_READ_BYTES) {
    this.share = share;
    this.buffer = Buffer.allocUnsafe(share ? Math.min(share.turnBytes, readBytes) : readBytes);
    this.onread = {
      buffer: this.buffer,
      callback: (bytes) => {
        const chunk = this.buffer.subarray(0, bytes);
        if (this.pass) return this.pass(chunk);
        this.early = this.early ? Buffer.concat([this.early, chunk]) : Buffer.from(chunk);
        return false;
      },
    };
  }

  /** From now on every read of `from` (the socket made with `onread`) goes to `to`, and its end ends `to`. */
  relay(from: Socket, to: Socket, { count, opening }: HostReadRelay): void {
    const share = this.share;
    let waitingForWrite = false;
    const resume = () => {
      if (!from.destroyed) from.resume();
    };
    const flushed = () => {
      if (!waitingForWrite) return;
      waitingForWrite = false;
      resume();
    };
    /** Whether the read was written through at once, so the buffer is free again. */
    const send = (chunk: Buffer): boolean => {
      if (to.destroyed) return false;
      to.write(chunk, flushed);
      if (to.writableLength === 0) return true;
      waitingForWrite = true;
      return false;
    };
    this.pass = (chunk) => {
      count(chunk.length);
      if (from.destroyed || to.destroyed) return false;
      if (opening) {
        const first = opening(chunk);
        if (first === "more") return true;
        if (first === "stop") return false;
        opening = undefined;
        chunk = first;
      }
      if (!share) return send(chunk);
      // The cap may pass the read at once, inside hold(): then this callback's answer says whether to read on.
      let readOn: boolean | undefined;
      share.hold(chunk.length, () => {
        const sent = send(chunk);
        if (readOn === undefined) readOn = sent;
        else if (sent) resume();
      });
      readOn ??= false;
      return readOn;
    };
    // A host that ends before its opening is through is the opening's owner's to answer.
    from.once("end", () => {
      if (!opening) to.end();
    });
    const early = this.early;
    this.early = undefined;
    if (early && this.pass(early)) resume();
  }
}
