// A finished job's outputs straight from its provider, in the browser: the page
// offers on the job's signaling, the provider (which keeps a job's outputs for
// a while after it ends) answers with its transfer manifest, which must list
// exactly the signed manifest's files, and then serves every chunk, each
// checked. All of a job's files come in one session and stay for the page (on
// disk in the origin's private file system where the browser has one, else in
// memory), so each Download after the first is instant.
import { checkManifestFiles, receiveManifest } from "../../p2p/core/manifestExchange.ts";
import { receiveFiles, type Route } from "../../p2p/core/transfer.ts";
import type { IceServer } from "../../protocol/iceServers.ts";
import type { Job } from "../../protocol/job.ts";
import { apiRequest } from "../api/http.ts";
import { BrowserPeer } from "../p2p/browserPeer.ts";
import { openJobSignaling } from "../p2p/jobSignaling.ts";
import { MemorySink } from "../p2p/memorySink.ts";
import { OpfsSink } from "../p2p/opfsSink.ts";

/** Long enough for ICE through a TURN relay; short enough that falling back to storage is not a wait. */
const CONNECT_TIMEOUT_MS = 8000;

export interface PeerOutputs {
  route: Route;
  bytes: number;
  ms: number;
  files: Map<string, Blob>;
}

export async function fetchOutputsFromProvider(job: Job, onProgress?: (done: number, total: number) => void): Promise<PeerOutputs> {
  const signed = job.output?.files ?? [];
  const { ice_servers } = (await (await apiRequest("/v1/ice-servers", { auth: true })).json()) as { ice_servers: IceServer[] };
  const signaling = await openJobSignaling(job.id);
  const peer = new BrowserPeer({ signal: (message) => signaling.send("provider", message), iceServers: ice_servers, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  signaling.onSignal((frame) => {
    if ((frame.type === "answer" || frame.type === "candidate" || frame.type === "leave") && frame.src === "provider") peer.receiveSignal(frame);
    // The provider is not there to answer: no use waiting out the connect timeout.
    else if (frame.type === "error" && frame.dst === "provider") peer.receiveSignal({ type: "leave", payload: { reason: frame.message } });
    else if (frame.type === "peer" && frame.peer === "provider" && !frame.present) peer.receiveSignal({ type: "leave", payload: { reason: "the provider left" } });
  });
  try {
    await peer.connected;
    const manifest = await receiveManifest(peer);
    checkManifestFiles(manifest, signed);
    const sink = (await OpfsSink.forJob(job.id)) ?? new MemorySink();
    const received = await receiveFiles(peer, manifest, sink, { onProgress: (progress) => onProgress?.(progress.bytesVerified, progress.bytesTotal) });
    const files = new Map<string, Blob>();
    for (const file of signed) files.set(file.path, sink.file(file.path)!);
    return { route: received.route, bytes: received.bytes, ms: received.ms, files };
  } finally {
    peer.close();
    signaling.close();
  }
}
