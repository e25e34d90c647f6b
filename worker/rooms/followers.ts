// The live log streams of one job's room. Each follower's stream is fed the
// room's events, and what is queued for it, not yet read, is counted: one that
// falls followerLagBytes behind (it stopped reading) is cut, so a slow reader
// never makes the room hold more. A cut follower gets a `cut` event after what
// is queued for it, then its stream ends; it resumes with Last-Event-ID. It
// counts against the room's followers until its stream is done with.
import { logLimits } from "../../protocol/limits.ts";
import { sseEvent } from "./sse.ts";

interface Follower {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes written for it and not yet taken by its reader. */
  queued: number;
  /** The id of the newest event written for it. */
  lastId: number;
  live: boolean;
}

export interface FollowerLimits {
  max: number;
  lagBytes: number;
}

export class Followers {
  private readonly all = new Set<Follower>();

  constructor(private readonly limits: FollowerLimits = { max: logLimits.roomFollowers, lagBytes: logLimits.followerLagBytes }) {}

  /** Whether another follower would pass the bound (cut ones count until their streams are done with). */
  get full(): boolean {
    return this.all.size >= this.limits.max;
  }

  /** Followers fed live (not cut, not ended). */
  get live(): number {
    let count = 0;
    for (const follower of this.all) if (follower.live) count += 1;
    return count;
  }

  /** A new follower's stream: `opening` first, then every event sent until the end. */
  open(opening: Uint8Array[], lastId: number): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const follower: Follower = { writer: writable.getWriter(), queued: 0, lastId, live: true };
    this.all.add(follower);
    // Its reader went away, or its stream ended and was read to the end: it is done with.
    follower.writer.closed.then(
      () => this.all.delete(follower),
      () => this.all.delete(follower),
    );
    for (const chunk of opening) this.write(follower, chunk);
    return readable;
  }

  /** An event for every live follower; one that has fallen too far behind is cut instead of fed more. */
  send(event: Uint8Array, id: number): void {
    for (const follower of this.all) {
      if (!follower.live) continue;
      this.write(follower, event);
      follower.lastId = id;
      if (follower.queued > this.limits.lagBytes) this.cut(follower);
    }
  }

  /** The last event for every live follower; their streams end after it. */
  end(final: Uint8Array): void {
    for (const follower of this.all) {
      if (!follower.live) continue;
      follower.live = false;
      this.write(follower, final);
      follower.writer.close().catch(() => undefined);
    }
  }

  private cut(follower: Follower): void {
    follower.live = false;
    const detail = `this stream fell ${follower.queued} bytes behind the job's output (more than ${this.limits.lagBytes}) and was cut; reconnect with Last-Event-ID ${follower.lastId} to go on from there`;
    this.write(follower, sseEvent("cut", { reason: "lagging", detail }, follower.lastId));
    follower.writer.close().catch(() => undefined);
  }

  private write(follower: Follower, chunk: Uint8Array): void {
    follower.queued += chunk.byteLength;
    follower.writer.write(chunk).then(
      () => (follower.queued -= chunk.byteLength),
      // A reader that went away fails its writes: it is dropped, the others carry on.
      () => this.all.delete(follower),
    );
  }
}
