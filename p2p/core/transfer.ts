// The calls the rest of Pond makes: send or receive a manifest's files over a
// connected peer, whatever its platform (NodePeer here, a browser peer later).
import type { TransferManifest } from "../../protocol/transfer.ts";
import type { Channel, Unsubscribe } from "./channel.ts";
import { TransferInterruptedError } from "./errors.ts";
import { ChunkReceiver, type ChunkReceiverOptions, type ChunkReceiverStats } from "./receiver.ts";
import { ChunkSender, type ChunkSenderOptions, type ChunkSenderStats } from "./sender.ts";
import type { ChunkSink, ChunkSource } from "./storage.ts";

/** How a connection's bytes travel: straight between the peers (host, srflx or prflx candidates) or through a TURN relay. */
export type Route = "direct" | "turn";

/** What the transfer needs from a connected peer. */
export interface TransferPeer {
  /** Data channels open now. */
  channels(): readonly Channel[];
  /** Each data channel that opens from now on. */
  onChannel(listener: (channel: Channel) => void): Unsubscribe;
  /** Fires once when the peer connection closes or fails. */
  onClose(listener: () => void): Unsubscribe;
  /** The route of the selected candidate pair; call once connected. */
  route(): Route;
}

export interface TransferResult {
  /** Bytes that crossed this connection (a resumed transfer counts only what it fetched). */
  bytes: number;
  ms: number;
  route: Route;
}

export type SendFilesOptions = ChunkSenderOptions & { signal?: AbortSignal };
export type SendFilesResult = TransferResult & { stats: ChunkSenderStats };
export type ReceiveFilesOptions = ChunkReceiverOptions & { signal?: AbortSignal };
export type ReceiveFilesResult = TransferResult & { stats: ChunkReceiverStats };

/** Serves `manifest`'s files from `source` until the receiver has them all. */
export async function sendFiles(peer: TransferPeer, manifest: TransferManifest, source: ChunkSource, options: SendFilesOptions = {}): Promise<SendFilesResult> {
  const sender = new ChunkSender(manifest, source, options);
  const startedAt = performance.now();
  const stops = follow(peer, (channel) => sender.attach(channel), (error) => sender.cancel(error), options.signal);
  try {
    await sender.finished;
  } finally {
    for (const stop of stops) stop();
    sender.stop();
  }
  const stats = sender.stats();
  return { bytes: stats.bytesSent, ms: performance.now() - startedAt, route: peer.route(), stats };
}

/**
 * Fetches what `sink` lacks of `manifest`'s files, verifying every chunk and
 * file. If the connection is cut it rejects with TransferInterruptedError and
 * keeps what it verified: call it again on a new connection to resume.
 */
export async function receiveFiles(peer: TransferPeer, manifest: TransferManifest, sink: ChunkSink, options: ReceiveFilesOptions = {}): Promise<ReceiveFilesResult> {
  const receiver = new ChunkReceiver(manifest, sink, options);
  await receiver.prepare();
  const startedAt = performance.now();
  receiver.start();
  const stops = follow(peer, (channel) => receiver.attach(channel), (error) => receiver.cancel(error), options.signal);
  try {
    await receiver.finished;
  } finally {
    for (const stop of stops) stop();
    receiver.stop();
  }
  const stats = receiver.stats();
  return { bytes: stats.bytesVerified, ms: performance.now() - startedAt, route: peer.route(), stats };
}

/** Hands the peer's channels (now and later) to `attach`, and ends the transfer when the peer closes or the caller aborts. */
function follow(peer: TransferPeer, attach: (channel: Channel) => void, cancel: (error: Error) => void, signal: AbortSignal | undefined): Unsubscribe[] {
  const stops = [peer.onChannel(attach), peer.onClose(() => cancel(new TransferInterruptedError("the peer connection closed")))];
  for (const channel of peer.channels()) attach(channel);
  if (signal) {
    const onAbort = () => cancel(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    stops.push(() => signal.removeEventListener("abort", onAbort));
  }
  return stops;
}
