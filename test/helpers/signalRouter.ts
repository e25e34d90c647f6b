// A test stand-in for the job's rendezvous object: routes signaling frames
// between peers by role, stamps `src` from the joined role (never from the
// frame), queues a bounded number of frames for a peer not yet present and
// expires them with "peer_absent". Frames go through the protocol schemas, as
// they would over a real socket.
import {
  parseClientSignal,
  relaySignal,
  SIGNALING_PROTOCOL_VERSION,
  type PeerRole,
  type ServerSignal,
  type SignalErrorCode,
} from "../../protocol/signaling.ts";

interface Waiting {
  raw: string;
  src: PeerRole;
  type: string;
  expires: ReturnType<typeof setTimeout>;
}

export interface SignalRouterOptions {
  maxWaiting?: number;
  waitMs?: number;
}

export class SignalRouter {
  private readonly peers = new Map<PeerRole, (raw: string) => void>();
  private readonly waiting = new Map<PeerRole, Waiting[]>();
  /** Every frame relayed, for tests that look at what crossed. */
  readonly relayed: ServerSignal[] = [];

  constructor(private readonly options: SignalRouterOptions = {}) {}

  /** A peer joins as `role`; `deliver` gets every frame for it (JSON text). */
  join(role: PeerRole, deliver: (raw: string) => void): { receive(raw: string): void; leave(): void } {
    this.peers.set(role, deliver);
    for (const [other, send] of this.peers) if (other !== role) send(JSON.stringify({ v: SIGNALING_PROTOCOL_VERSION, type: "peer", peer: role, present: true }));
    for (const frame of this.waiting.get(role)?.splice(0) ?? []) {
      clearTimeout(frame.expires);
      deliver(frame.raw);
    }
    return {
      receive: (raw) => this.route(role, raw),
      leave: () => {
        if (this.peers.get(role) !== deliver) return;
        this.peers.delete(role);
        for (const send of this.peers.values()) send(JSON.stringify({ v: SIGNALING_PROTOCOL_VERSION, type: "peer", peer: role, present: false }));
      },
    };
  }

  close(): void {
    for (const frames of this.waiting.values()) for (const frame of frames) clearTimeout(frame.expires);
    this.waiting.clear();
    this.peers.clear();
  }

  private route(src: PeerRole, raw: string): void {
    const parsed = parseClientSignal(raw);
    if (!parsed.ok) return this.error(src, "bad_message", parsed.error);
    const relayed = relaySignal(parsed.message, src);
    this.relayed.push(relayed);
    const text = JSON.stringify(relayed);
    const deliver = this.peers.get(relayed.dst);
    if (deliver) return deliver(text);
    const queue = this.waiting.get(relayed.dst) ?? [];
    if (queue.length >= (this.options.maxWaiting ?? 64)) return this.error(src, "queue_full", `too many frames wait for "${relayed.dst}"`, relayed.dst, relayed.type);
    const frame: Waiting = {
      raw: text,
      src,
      type: relayed.type,
      expires: setTimeout(() => {
        queue.splice(queue.indexOf(frame), 1);
        this.error(src, "peer_absent", `"${relayed.dst}" did not join in time`, relayed.dst, relayed.type);
      }, this.options.waitMs ?? 10_000),
    };
    queue.push(frame);
    this.waiting.set(relayed.dst, queue);
  }

  private error(to: PeerRole, code: SignalErrorCode, message: string, dst?: PeerRole, refType?: string): void {
    const frame = { v: SIGNALING_PROTOCOL_VERSION, type: "error", code, message, ...(dst ? { dst } : {}), ...(refType ? { ref_type: refType } : {}) };
    this.peers.get(to)?.(JSON.stringify(frame));
  }
}
