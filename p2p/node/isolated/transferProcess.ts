// One peer-to-peer transfer in a process of its own, started by isolatedTransfer.ts:
// it gets a job and signaling over IPC, and says what it sends, how far it got and
// how it ended. It beats "alive" every second; the parent kills it when the beat
// stops, which is how a peer connection wedged inside node-datachannel (whose
// calls then block this thread for good) costs one transfer, not the daemon.
import { TransferError } from "../../core/errors.ts";
import { checkManifestFiles, receiveManifest, selectManifestFiles, sendManifest } from "../../core/manifestExchange.ts";
import type { ChunkSource } from "../../core/storage.ts";
import { receiveFiles, sendFiles } from "../../core/transfer.ts";
import { FsChunkSink } from "../fsChunkSink.ts";
import { FsChunkSource } from "../fsChunkSource.ts";
import { NodePeer } from "../peer.ts";
import { RootedChunkSource } from "../rootedChunkSource.ts";
import type { TransferManifest } from "../../../protocol/transfer.ts";
import { applyTransferSctpSettings } from "../sctpSettings.ts";
import { serializeError, type ChildMessage, type FetchJob, type FetchResult, type ParentMessage, type ServeJob, type ServeResult, type TransferJob } from "./messages.ts";

const ALIVE_INTERVAL_MS = 1_000;

/**
 * To the parent while it is there. A parent that left (a CLI that ended on an error before this
 * process had loaded, say) is the "disconnect" handler's to act on: a send into its closed channel
 * fails quietly here instead of as an unhandled EPIPE with a stack trace on the user's terminal.
 */
const tell = (message: ChildMessage) => {
  if (process.connected) process.send?.(message, undefined, {}, () => {});
};

// The process is this transfer's alone, so its associations' buffers are Pond's to size (sctpSettings.ts).
applyTransferSctpSettings();

let peer: NodePeer | undefined;

// The parent sends "start" first: `run` makes the peer before any signal can arrive.
process.on("message", (message: ParentMessage) => {
  if (message.type === "start") return void run(message.job);
  if (message.type === "stop") return finish(0);
  peer?.receiveSignal(message.signal);
});
// The parent is gone (killed, say): nobody is left to take the bytes or the result. No
// closing: a wedged connection would hang it (and node-datachannel's exit hook) for good;
// the sink's partial state is written so that a kill -9 loses nothing verified.
process.on("disconnect", () => process.kill(process.pid, "SIGKILL"));
// Gone before this process had loaded: no "disconnect" is left to come.
if (!process.connected) process.kill(process.pid, "SIGKILL");
setInterval(() => tell({ type: "alive" }), ALIVE_INTERVAL_MS);
tell({ type: "alive" });

async function run(job: TransferJob): Promise<void> {
  peer = new NodePeer({
    role: job.kind === "fetch" ? "offer" : "answer",
    signal: (signal) => tell({ type: "signal", signal }),
    iceServers: job.peer.iceServers,
    connectTimeoutMs: job.peer.connectTimeoutMs,
    ...(job.peer.channels ? { channels: job.peer.channels } : {}),
    ...(job.peer.bindAddress ? { bindAddress: job.peer.bindAddress } : {}),
    name: job.peer.name,
  });
  try {
    const result = job.kind === "fetch" ? await fetch(peer, job) : await serve(peer, job);
    tell({ type: "done", result });
  } catch (error) {
    tell({ type: "failed", error: serializeError(error, job.kind === "fetch" ? "storage_failed" : "sender_failed") });
  }
  finish(0);
}

async function fetch(connecting: NodePeer, job: FetchJob): Promise<FetchResult> {
  const sink = new FsChunkSink(job.dir);
  try {
    await connecting.connected;
    const { manifest, senderIndex } = acceptedManifest(await receiveManifest(connecting), job);
    tell({ type: "connected", route: connecting.route() });
    const startedAt = Date.now();
    const received = await receiveFiles(connecting, manifest, sink, { ...(senderIndex ? { senderIndex } : {}), onProgress: (progress) => tell({ type: "progress", bytes: progress.bytesVerified, total: progress.bytesTotal }) });
    const firstDataMs = received.stats.firstDataMs;
    return {
      route: received.route,
      bytes: received.bytes,
      ms: received.ms,
      ...(firstDataMs === undefined ? {} : { firstByteAt: startedAt + firstDataMs }),
      ...(job.keepManifest ? { manifest } : {}),
    };
  } finally {
    await sink.close();
  }
}

/** The sender's manifest checked against the job: whole, or the selection it asks for. */
function acceptedManifest(sent: TransferManifest, job: FetchJob): { manifest: TransferManifest; senderIndex?: number[] } {
  if (!job.select) {
    checkManifestFiles(sent, job.expected);
    return { manifest: sent };
  }
  const selected = selectManifestFiles(sent, job.select);
  checkManifestFiles(selected.manifest, job.expected);
  return selected;
}

async function serve(connecting: NodePeer, job: ServeJob): Promise<ServeResult> {
  const source: ChunkSource & { close(): Promise<void> } = "root" in job.source ? new FsChunkSource(job.source.root) : new RootedChunkSource(new Map(Object.entries(job.source.rootOf)));
  try {
    await connecting.connected;
    const [first] = connecting.channels();
    if (!first) throw new TransferError("interrupted", "the connection came up without an open data channel");
    sendManifest(first, job.manifest);
    tell({ type: "connected", route: connecting.route() });
    const total = job.manifest.files.reduce((sum, file) => sum + file.size, 0);
    const sent = await sendFiles(connecting, job.manifest, source, { onProgress: (progress) => tell({ type: "progress", bytes: progress.bytesSent, total }) });
    return { route: sent.route, bytes: sent.bytes, ms: sent.ms };
  } finally {
    await source.close();
  }
}

/** Closes the connection and leaves once what was said has gone out. */
function finish(code: number): void {
  peer?.close();
  if (!process.connected) process.exit(code);
  // An empty send's callback runs once every earlier message has been written.
  process.send?.({ type: "alive" } satisfies ChildMessage, () => process.exit(code));
}
