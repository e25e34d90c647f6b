// A job's input files, before its container starts (or a mediator's re-run):
// peer to peer first, from each peer in turn (this side offers, through the
// job's rendezvous: the creator, for a run; the provider that ran the job and
// kept its inputs, then the creator, for a mediation), and from the R2 relay for
// whatever is still missing when no connection comes up in time, the peers are
// absent, or the transfer is cut. Either way every chunk and every file is
// checked against the spec (the creator signed it), and what was verified stays
// verified across a daemon restart (FsChunkSink's partial state).
import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import type { ResolvedInputFile } from "../../protocol/jobSpec.ts";
import { consumerRole, SIGNALING_PROTOCOL_VERSION, type PeerRole } from "../../protocol/signaling.ts";
import type { TransferManifest } from "../../protocol/transfer.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import { TransferError } from "../../p2p/core/errors.ts";
import type { SelectedFile } from "../../p2p/core/manifestExchange.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import type { FetchJob } from "../../p2p/node/isolated/messages.ts";
import { openSignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
import type { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import type { JobSignaling } from "./jobSignaling.ts";
import { describeProgress } from "./progressDetail.ts";
import type { RelayClient } from "./relayClient.ts";
import { fetchFromRelay, InputsError } from "./relayFetch.ts";

/** Tells the creator to upload to the relay instead (the CLI reads this reason). */
export const USE_RELAY_REASON = "inputs: use the relay";

export interface InputsFetchOptions {
  jobId: string;
  files: readonly ResolvedInputFile[];
  inputsDir: string;
  signaling: JobSignaling;
  relay: RelayClient;
  /** Peers to ask, in turn, before the relay. Default: the creator. */
  peers?: readonly PeerRole[];
  connectTimeoutMs: number;
  /** How long to wait for the creator's upload to the relay. */
  relayWaitMs: number;
  bindAddress?: string;
  /** Transfer processes started ahead, so the fetch does not wait for one to load. */
  processes?: SpareTransferProcesses;
  log: Logger;
  signal?: AbortSignal;
  onDetail(detail: string): void;
}

export interface FetchedInputs {
  measure: TransferMeasure;
  /** The transfer manifest they came with (checked against the spec): what serves them again. */
  manifest: TransferManifest;
  /** Who sent them. */
  from: PeerRole | "relay";
}

export async function fetchInputs(options: InputsFetchOptions): Promise<FetchedInputs> {
  const { jobId, files, log } = options;
  const peers = options.peers ?? ["creator"];
  await mkdir(options.inputsDir, { recursive: true });
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const started = performance.now();
  for (const peer of peers) {
    options.signal?.throwIfAborted();
    try {
      const direct = await fromPeer(options, peer, total);
      log.info({ job: jobId, from: peer, route: direct.route }, `inputs received peer to peer from the ${peer}`);
      return { measure: { route: direct.route, bytes: direct.bytes, ms: Math.round(performance.now() - started) }, manifest: direct.manifest, from: peer };
    } catch (error) {
      // file_integrity: the manifest or the bytes do not match the spec. The creator signed it, so its
      // own bytes failing it fail the job; another peer's (a provider's, for a mediator) are set aside.
      if (error instanceof TransferError && error.code === "file_integrity" && peer === "creator") throw new InputsError(`the creator sent inputs that do not match the spec: ${error.message}`);
      log.info({ job: jobId, from: peer, why: (error as Error).message }, `inputs: no peer-to-peer transfer from the ${peer}`);
    }
  }
  if (peers.includes("creator")) {
    log.info({ job: jobId }, "inputs: using the relay");
    options.signaling.send(jobId, { v: SIGNALING_PROTOCOL_VERSION, type: "leave", dst: "creator", payload: { reason: USE_RELAY_REASON } });
  }
  // The transfer processes have exited: this sink takes over the folder and the chunks they verified.
  const sink = new FsChunkSink(options.inputsDir);
  try {
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
    return { measure: { route: "relay", bytes: relayed.bytes, ms: Math.round(performance.now() - started) }, manifest: relayed.manifest, from: "relay" };
  } finally {
    await sink.close();
  }
}

/**
 * Where a fetch meets its peer: by default in the job's own rendezvous; for a pipeline's inputs, in
 * the source job's, as the consumer of its outputs for the job `forJob`, taking the `select`ed ones.
 */
export interface PeerMeeting {
  job: string;
  forJob?: string;
  select?: readonly SelectedFile[];
}

type PeerFetchOptions = Pick<InputsFetchOptions, "jobId" | "files" | "inputsDir" | "signaling" | "connectTimeoutMs" | "bindAddress" | "processes" | "signal" | "onDetail">;

/** The files from one peer, checked (see the file's head); throws when it cannot give them all. */
export async function fromPeer(options: PeerFetchOptions, peer: PeerRole, total: number, meeting: PeerMeeting = { job: options.jobId }): Promise<{ route: Route; bytes: number; manifest: TransferManifest }> {
  const { jobId, signaling } = options;
  const job: FetchJob = {
    kind: "fetch",
    peer: { iceServers: await signaling.iceServers(), connectTimeoutMs: options.connectTimeoutMs, name: `pond-inputs-${jobId}`, ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}) },
    dir: options.inputsDir,
    expected: options.files,
    keepManifest: true,
    ...(meeting.select ? { select: meeting.select } : {}),
  };
  let route: Route | undefined;
  const process = options.processes?.take();
  const session = openSignaledTransfer(job, {
    remote: peer,
    endWhenRemoteAbsent: true,
    ...(meeting.forJob ? { self: consumerRole(meeting.forJob)! } : {}),
    ...(process ? { process } : {}),
    send: (signal) => {
      if (!signaling.send(meeting.job, signal, meeting.forJob)) throw new Error("the hub is not connected");
    },
    onConnected: (connected) => {
      route = connected;
      options.onDetail(describeProgress("receiving inputs", 0, total, connected));
    },
    onProgress: (bytes) => options.onDetail(describeProgress("receiving inputs", bytes, total, route ?? "direct")),
  });
  const { transfer } = session;
  const stop = signaling.subscribe(meeting.job, (frame) => void session.deliver(frame));
  const onAbort = () => transfer.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const received = await transfer.result;
    if (!received.manifest) throw new TransferError("interrupted", "the transfer process did not hand back the manifest it was asked to keep");
    return { route: received.route, bytes: received.bytes, manifest: received.manifest };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop();
    transfer.close();
  }
}
