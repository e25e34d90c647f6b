// Two real node-datachannel peers in this process, on 127.0.0.1, signaling
// through an in-memory SignalRouter. The creator offers; the provider answers.
import { NodePeer, type NodePeerOptions } from "../../p2p/node/peer.ts";
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

type PeerExtras = Partial<Omit<NodePeerOptions, "role" | "signal">>;

export function loopbackPeers({ channels = 1, creator: creatorExtras = {}, provider: providerExtras = {} }: { channels?: number; creator?: PeerExtras; provider?: PeerExtras } = {}): LoopbackPeers {
  const router = new SignalRouter();
  const notices = { creator: [] as ServerSignal[], provider: [] as ServerSignal[] };
  let creator: NodePeer | undefined;
  let provider: NodePeer | undefined;
  const creatorLink = router.join("creator", deliverTo(() => creator, "provider", notices.creator));
  const providerLink = router.join("provider", deliverTo(() => provider, "creator", notices.provider));
  const base = { bindAddress: "127.0.0.1", connectTimeoutMs: 15_000 };
  provider = new NodePeer({ ...base, ...providerExtras, role: "answer", signal: signalTo(() => ({ send: providerLink.receive }), "creator") });
  creator = new NodePeer({ ...base, channels, ...creatorExtras, role: "offer", signal: signalTo(() => ({ send: creatorLink.receive }), "provider") });
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
