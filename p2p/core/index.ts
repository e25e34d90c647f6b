// The platform-neutral transfer core: no `node:` imports, so a browser page can bundle it.
export type { Channel, ChannelMessage, Unsubscribe } from "./channel.ts";
export type { ChunkSink, ChunkSource } from "./storage.ts";
export { DEFAULT_BACKPRESSURE, type BackpressureLimits } from "./backpressure.ts";
export { ChunkSender, type ChunkSenderOptions, type ChunkSenderStats } from "./sender.ts";
export { ChunkReceiver, type ChunkReceiverOptions, type ChunkReceiverStats, type ReceiveProgress } from "./receiver.ts";
export { sdpFingerprint, type DtlsFingerprint } from "./sdpFingerprint.ts";
export { sha256Hex } from "./sha256.ts";
export * from "./errors.ts";
export * from "./transfer.ts";
export { checkManifestFiles, manifestParts, ManifestMismatchError, receiveManifest, sendManifest } from "./manifestExchange.ts";
