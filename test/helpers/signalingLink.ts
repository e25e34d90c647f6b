// Connects a NodePeer to a signaling endpoint: its outgoing signals become
// client frames for `dst`; relayed frames from `dst` go into the peer.
import { parseServerSignal, SIGNALING_PROTOCOL_VERSION, type PeerRole, type ServerSignal } from "../../protocol/signaling.ts";
import type { NodePeer, OutgoingSignal } from "../../p2p/node/peer.ts";

export interface SignalingEndpoint {
  send(raw: string): void;
}

/** The `signal` option for a NodePeer that talks to `dst` through `endpoint`. */
export function signalTo(endpoint: () => SignalingEndpoint, dst: PeerRole): (message: OutgoingSignal) => void {
  return (message) => endpoint().send(JSON.stringify({ v: SIGNALING_PROTOCOL_VERSION, dst, ...message }));
}

/** Feeds frames from the relay into the peer; returns the frames that were not for it (errors, presence). */
export function deliverTo(peer: () => NodePeer | undefined, from: PeerRole, others: ServerSignal[] = []): (raw: string) => void {
  return (raw) => {
    const parsed = parseServerSignal(raw);
    if (!parsed.ok) throw new Error(`the relay sent a frame that does not parse: ${parsed.error}`);
    const frame = parsed.message;
    if ((frame.type === "offer" || frame.type === "answer" || frame.type === "candidate" || frame.type === "leave") && frame.src === from) peer()?.receiveSignal(frame);
    else others.push(frame);
  };
}
