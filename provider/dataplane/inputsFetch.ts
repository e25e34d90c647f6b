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
import { TransferError } from "../../p2p/core/errors.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import type { FetchJob } from "../../p2p/node/isolated/messages.ts";
import { openSignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
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
  const started = performance.now();
  try {
    const direct = await fromCreator(options, total);
    return { ...direct, ms: Math.round(performance.now() - started) };
  } catch (error) {
    // file_integrity: the manifest or the bytes do not match what the creator signed.
    if (error instanceof TransferError && error.code === "file_integrity") throw new InputsError(`the creator sent inputs that do not match the spec: ${error.message}`);
    log.info({ job: jobId, why: (error as Error).message }, "inputs: no peer-to-peer transfer; using the relay");
    options.signaling.send(jobId, { v: SIGNALING_PROTOCOL_VERSION, type: "leave", dst: "creator", payload: { reason: USE_RELAY_REASON } });
  }
  // The transfer process has exited: this sink takes over the folder and the chunks it verified.
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
    return { route: "relay", bytes: relayed.bytes, ms: Math.round(performance.now() - started) };
  } finally {
    await sink.close();
  }
}

async function fromCreator(options: InputsFetchOptions, total: number): Promise<Omit<TransferMeasure, "ms">> {
  const { jobId, signaling } = options;
  const job: FetchJob = {
    kind: "fetch",
    peer: { iceServers: await signaling.iceServers(), connectTimeoutMs: options.connectTimeoutMs, name: `pond-inputs-${jobId}`, ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}) },
    dir: options.inputsDir,
    expected: options.files,
  };
  let route: Route | undefined;
  const session = openSignaledTransfer(job, {
    remote: "creator",
    endWhenRemoteAbsent: true,
    send: (signal) => {
      if (!signaling.send(jobId, signal)) throw new Error("the hub is not connected");
    },
    onConnected: (connected) => {
      route = connected;
      options.onDetail(describeProgress("receiving inputs", 0, total, connected));
    },
    onProgress: (bytes) => options.onDetail(describeProgress("receiving inputs", bytes, total, route ?? "direct")),
  });
  const { transfer } = session;
  const stop = signaling.subscribe(jobId, (frame) => void session.deliver(frame));
  const onAbort = () => transfer.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const received = await transfer.result;
    return { route: received.route, bytes: received.bytes };
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    stop();
    transfer.close();
  }
}
