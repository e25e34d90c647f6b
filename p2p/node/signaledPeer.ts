// A NodePeer on a job's signaling (protocol/signaling.ts): what it says goes
// out as client signals for `remote`; relayed signals from `remote` go in.
// The transport (the provider's hub socket, the creator's WebSocket) is the caller's.
import type { IceServer } from "../../protocol/iceServers.ts";
import { SIGNALING_PROTOCOL_VERSION, type ClientSignal, type PeerRole, type ServerSignal } from "../../protocol/signaling.ts";
import { NodePeer, type NodePeerOptions } from "./peer.ts";

export interface SignaledPeerOptions {
  role: NodePeerOptions["role"];
  /** The peer role at the other end: "creator", "provider", "mediator". */
  remote: PeerRole;
  send(signal: ClientSignal): void;
  iceServers?: readonly IceServer[];
  channels?: number;
  connectTimeoutMs?: number;
  bindAddress?: string;
  name?: string;
}

export interface SignaledPeer {
  peer: NodePeer;
  /** Hands in a frame from the job's signaling; frames from other peers, errors and presence are ignored. Whether it was for this peer. */
  deliver(frame: ServerSignal): boolean;
}

export function openSignaledPeer(options: SignaledPeerOptions): SignaledPeer {
  const peer = new NodePeer({
    role: options.role,
    signal: (message) => options.send({ v: SIGNALING_PROTOCOL_VERSION, dst: options.remote, ...message } as ClientSignal),
    ...(options.iceServers ? { iceServers: options.iceServers } : {}),
    ...(options.channels ? { channels: options.channels } : {}),
    ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    ...(options.name ? { name: options.name } : {}),
  });
  return {
    peer,
    deliver(frame) {
      if (frame.type !== "offer" && frame.type !== "answer" && frame.type !== "candidate" && frame.type !== "leave") return false;
      if (frame.src !== options.remote) return false;
      // An offer is for an answering peer, an answer for the offering one: another session's, not this one's.
      if ((frame.type === "offer" && options.role === "offer") || (frame.type === "answer" && options.role === "answer")) return false;
      peer.receiveSignal(frame);
      return true;
    },
  };
}
