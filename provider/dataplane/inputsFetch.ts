// A job's input files, before its container starts: peer to peer from the
// creator first (this side offers, through the job's rendezvous), and from the
// R2 relay for whatever is still missing when no connection comes up in time,
// the creator is absent, or the transfer is cut. Either way every chunk and
// every file is checked against the spec (the creator signed it), and what was
// verified stays verified across a daemon restart (FsChunkSink's partial state).
import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import type { InputFile } from "../../protocol/jobSpec.ts";
import { SIGNALING_PROTOCOL_VERSION } from "../../protocol/signaling.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import { checkManifestFiles, ManifestMismatchError, receiveManifest } from "../../p2p/core/manifestExchange.ts";
import { FileIntegrityError } from "../../p2p/core/errors.ts";
import { receiveFiles } from "../../p2p/core/transfer.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { openSignaledPeer } from "../../p2p/node/signaledPeer.ts";
import type { JobSignaling } from "./jobSignaling.ts";
import { describeProgress } from "./progressDetail.ts";
import type { RelayClient } from "./relayClient.ts";
import { fetchFromRelay, InputsError } from "./relayFetch.ts";

/** Tells the creator to upload to the relay instead (the CLI reads this reason). */
export const USE_RELAY_REASON = "inputs: use the relay";

export interface InputsFetchOptions {
  jobId: string;
  files: readonly InputFile[];
  inputsDir: string;
  signaling: JobSignaling;
  relay: RelayClient;
  connectTimeoutMs: number;
  /** How long to wait for the creator's upload to the relay. */
  relayWaitMs: number;
  bindAddress?: string;
  log: Logger;
  signal?: AbortSignal;
  onDetail(detail: string): void;
}

export async function fetchInputs(options: InputsFetchOptions): Promise<TransferMeasure> {
  const { jobId, files, log } = options;
  await mkdir(options.inputsDir, { recursive: true });
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const sink = new FsChunkSink(options.inputsDir);
  const started = performance.now();
  try {
    try {
      const direct = await fromCreator(options, sink, total);
      return { ...direct, ms: Math.round(performance.now() - started) };
    } catch (error) {
      if (error instanceof ManifestMismatchError || error instanceof FileIntegrityError) throw new InputsError(`the creator sent inputs that do not match the spec: ${error.message}`);
      log.info({ job: jobId, why: (error as Error).message }, "inputs: no peer-to-peer transfer; using the relay");
      options.signaling.send(jobId, { v: SIGNALING_PROTOCOL_VERSION, type: "leave", dst: "creator", payload: { reason: USE_RELAY_REASON } });
    }
    const relayed = await fetchFromRelay({
      client: options.relay,
      jobId,
      expected: files,
      sink,
      deadline: Date.now() + options.relayWaitMs,
      ...(options.signal ? { signal: options.signal } : {}),
      onWaiting: () => options.onDetail("waiting for the creator's inputs"),
      onProgress: (done) => options.onDetail(describeProgress("receiving inputs", done, total, "relay")),
    });
    return { route: "relay", bytes: relayed.bytes, ms: Math.round(performance.now() - started) };
  } finally {
    await sink.close();
  }
}

async function fromCreator(options: InputsFetchOptions, sink: FsChunkSink, total: number): Promise<Omit<TransferMeasure, "ms">> {
  const { jobId, signaling } = options;
  const session = openSignaledPeer({
    role: "offer",
    remote: "creator",
    send: (signal) => {
      if (!signaling.send(jobId, signal)) throw new Error("the hub is not connected");
    },
    iceServers: await signaling.iceServers(),
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    name: `pond-inputs-${jobId}`,
  });
  const { peer } = session;
  const stop = signaling.subscribe(jobId, (frame) => {
    if (session.deliver(frame)) return;
    // The creator is not there (or left): no use waiting out the connect timeout.
    if (frame.type === "error" && frame.dst === "creator") peer.receiveSignal({ type: "leave", payload: { reason: frame.message } });
    if (frame.type === "peer" && frame.peer === "creator" && !frame.present) peer.receiveSignal({ type: "leave", payload: { reason: "the creator left" } });
  });
  const onAbort = () => peer.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await peer.connected;
    const manifest = await receiveManifest(peer);
    checkManifestFiles(manifest, options.files);
    const route = peer.route();
    options.onDetail(describeProgress("receiving inputs", 0, total, route));
    const received = await receiveFiles(peer, manifest, sink, { onProgress: (progress) => options.onDetail(describeProgress("receiving inputs", progress.bytesVerified, total, route)) });
    return { route: received.route, bytes: received.bytes };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop();
    peer.close();
  }
}
