// Two real node-datachannel peers in this process, on 127.0.0.1, signaling
// through an in-memory SignalRouter. The creator offers; the provider answers.
import { NodePeer, type NodePeerOptions, type OutgoingSignal } from "../../p2p/node/peer.ts";
import type { ServerSignal } from "../../protocol/signaling.ts";
import { deliverTo, signalTo } from "./signalingLink.ts";
import { SignalRouter } from "./signalRouter.ts";

export interface LoopbackPeers {
  creator: NodePeer;
  provider: NodePeer;
  router: SignalRouter;
  /** Frames the relay sent that were not signals (errors, presence), per side. */
  notices: { creator: ServerSignal[]; provider: ServerSignal[] };
  close(): void;
}

type PeerExtras = Partial<Omit<NodePeerOptions, "role" | "signal">> & {
  /** Sees each signal this side sends and decides when (or whether, or changed how) it goes on: a slow, reordering or rewriting signaling path. */
  intercept?: (message: OutgoingSignal, forward: (replacement?: OutgoingSignal) => void) => void;
};

export function loopbackPeers({ channels = 1, creator: creatorExtras = {}, provider: providerExtras = {} }: { channels?: number; creator?: PeerExtras; provider?: PeerExtras } = {}): LoopbackPeers {
  const router = new SignalRouter();
  const notices = { creator: [] as ServerSignal[], provider: [] as ServerSignal[] };
  let creator: NodePeer | undefined;
  let provider: NodePeer | undefined;
  const creatorLink = router.join("creator", deliverTo(() => creator, "provider", notices.creator));
  const providerLink = router.join("provider", deliverTo(() => provider, "creator", notices.provider));
  const base = { bindAddress: "127.0.0.1", connectTimeoutMs: 15_000 };
  const through = (send: (message: OutgoingSignal) => void, intercept: PeerExtras["intercept"]) =>
    intercept ? (message: OutgoingSignal) => intercept(message, (replacement) => send(replacement ?? message)) : send;
  const { intercept: providerIntercept, ...providerOptions } = providerExtras;
  const { intercept: creatorIntercept, ...creatorOptions } = creatorExtras;
  provider = new NodePeer({ ...base, ...providerOptions, role: "answer", signal: through(signalTo(() => ({ send: providerLink.receive }), "creator"), providerIntercept) });
  creator = new NodePeer({ ...base, channels, ...creatorOptions, role: "offer", signal: through(signalTo(() => ({ send: creatorLink.receive }), "provider"), creatorIntercept) });
  return {
    creator,
    provider,
    router,
    notices,
    close() {
      creator?.close();
      provider?.close();
      router.close();
    },
  };
}
