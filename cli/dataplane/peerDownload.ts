// A finished job's outputs, peer to peer from its provider: the creator offers
// on the job's signaling, the provider answers with its retained outputs'
// manifest (checked against the signed one: same paths, sizes, sha256), then
// the chunks, each checked, each file checked whole before it gets its name.
import type { ManifestFile } from "../../protocol/manifest.ts";
import type { IceServer } from "../../protocol/iceServers.ts";
import { checkManifestFiles, receiveManifest } from "../../p2p/core/manifestExchange.ts";
import { receiveFiles, type Route } from "../../p2p/core/transfer.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { openSignaledPeer } from "../../p2p/node/signaledPeer.ts";
import type { SignalingSocket } from "./signalingSocket.ts";

export interface PeerDownloadOptions {
  socket: SignalingSocket;
  jobId: string;
  files: readonly ManifestFile[];
  dir: string;
  iceServers: readonly IceServer[];
  connectTimeoutMs: number;
  bindAddress?: string;
  channels?: number;
  onProgress?(done: number, total: number): void;
}

export interface PeerDownloadResult {
  route: Route;
  bytes: number;
  ms: number;
  /** When (Date.now()) the first data frame arrived. */
  firstByteAt: number | undefined;
}

export async function downloadFromProvider(options: PeerDownloadOptions): Promise<PeerDownloadResult> {
  const { socket } = options;
  const session = openSignaledPeer({
    role: "offer",
    remote: "provider",
    send: (signal) => socket.send(signal),
    iceServers: options.iceServers,
    connectTimeoutMs: options.connectTimeoutMs,
    channels: options.channels ?? 1,
    ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    name: `pond-download-${options.jobId}`,
  });
  const { peer } = session;
  const stop = socket.subscribe((frame) => {
    if (session.deliver(frame)) return;
    // The provider is not there to answer: no use waiting out the connect timeout.
    if (frame.type === "error" && frame.dst === "provider") peer.receiveSignal({ type: "leave", payload: { reason: frame.message } });
    if (frame.type === "peer" && frame.peer === "provider" && !frame.present) peer.receiveSignal({ type: "leave", payload: { reason: "the provider left" } });
  });
  const sink = new FsChunkSink(options.dir);
  const t0 = Date.now();
  try {
    await peer.connected;
    const t1 = Date.now();
    const manifest = await receiveManifest(peer);
    if (process.env.POND_TRACE_TIMING) console.error(`TIMING start=${t0} connected=+${t1 - t0} manifest=+${Date.now() - t0}`);
    checkManifestFiles(manifest, options.files);
    const startedAt = Date.now();
    const received = await receiveFiles(peer, manifest, sink, {
      onProgress: (progress) => options.onProgress?.(progress.bytesVerified, progress.bytesTotal),
    });
    const firstDataMs = received.stats.firstDataMs;
    return { route: received.route, bytes: received.bytes, ms: received.ms, firstByteAt: firstDataMs === undefined ? undefined : startedAt + firstDataMs };
  } finally {
    stop();
    await sink.close();
    peer.close();
  }
}
