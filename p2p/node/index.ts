// The Node side of the data plane: a node-datachannel peer and file system storage.
export { NodePeer, CHANNEL_LABEL_PREFIX, type CandidatePair, type IncomingSignal, type NodePeerOptions, type OutgoingSignal } from "./peer.ts";
export { NodeChannel } from "./channel.ts";
export { toNodeIceServers, IceServerUrlError } from "./iceServers.ts";
export { FsChunkSource } from "./fsChunkSource.ts";
export { FsChunkSink, PARTIAL_SUFFIX, STATE_SUFFIX } from "./fsChunkSink.ts";
export { buildTransferManifest } from "./buildTransferManifest.ts";
export { openSignaledTransfer, type SignaledTransfer, type SignaledTransferOptions } from "./isolated/signaledTransfer.ts";
export { IsolatedTransfer, type IsolatedTransferOptions } from "./isolated/isolatedTransfer.ts";
export { RootedChunkSource } from "./rootedChunkSource.ts";
