// The daemon's data plane, assembled: signaling over the hub socket, a job's
// input files fetched before it starts, finished jobs' outputs kept and served
// peer to peer, and reports of what was served.
import { join } from "node:path";
import type { Logger } from "pino";
import { HUB_PROTOCOL_VERSION } from "../../protocol/hubMessages.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import type { PrivateKeyAccount } from "viem/accounts";
import type { InputFile } from "../../protocol/jobSpec.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import type { HubClient } from "../connection/hubClient.ts";
import { fetchInputs } from "./inputsFetch.ts";
import { RelayClient } from "./relayClient.ts";
import { JobSignaling } from "./jobSignaling.ts";
import { OutputsServer } from "./outputsServer.ts";
import { RetainedOutputs } from "./retainedOutputs.ts";

/** How often expired outputs are looked for while the daemon runs. */
const SWEEP_MS = 60_000;

export interface DataPlaneOptions {
  api: string;
  account: PrivateKeyAccount;
  hub: HubClient;
  dataDir: string;
  log: Logger;
  outputRetentionS: number;
  p2pConnectTimeoutMs: number;
  /** How long a job waits for its creator's upload to the relay. */
  inputWaitS: number;
  webrtcBindAddress?: string;
}

export class DataPlane {
  readonly signaling: JobSignaling;
  readonly connectTimeoutMs: number;
  readonly bindAddress: string | undefined;
  private readonly retained: RetainedOutputs;
  private readonly relay: RelayClient;
  private readonly outputs: OutputsServer;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: DataPlaneOptions) {
    const { hub, log } = options;
    this.signaling = new JobSignaling(hub, log);
    // Fetched ahead, so the first offer after a job ends is answered without a round trip for credentials.
    hub.on("welcome", () => void this.signaling.iceServers());
    this.connectTimeoutMs = options.p2pConnectTimeoutMs;
    this.bindAddress = options.webrtcBindAddress;
    this.relay = new RelayClient(options.api, options.account);
    this.retained = new RetainedOutputs(join(options.dataDir, "retained"), options.outputRetentionS * 1000);
    this.outputs = new OutputsServer({
      signaling: this.signaling,
      log,
      connectTimeoutMs: options.p2pConnectTimeoutMs,
      ...(options.webrtcBindAddress ? { bindAddress: options.webrtcBindAddress } : {}),
      onServed: (served) => void hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.transfer", job_id: served.jobId, direction: "outputs", transfer: { route: served.route, bytes: served.bytes, ms: Math.round(served.ms) } }),
    });
  }

  /** At start: outputs an earlier run kept, served again until they expire (expired ones removed). */
  async start(): Promise<void> {
    for (const retained of await this.retained.load()) this.outputs.watch(retained);
    this.sweeper = setInterval(() => void this.sweep().catch((error: unknown) => this.options.log.warn({ err: error }, "could not remove expired outputs")), SWEEP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.outputs.close();
  }

  /**
   * Keeps a succeeded job's outputs (moved out of its folder before that goes)
   * and serves them from now on. A failure here only costs the peer-to-peer
   * path: the outputs are in R2 already.
   */
  async retainOutputs(jobId: string, outputsDir: string, manifest: OutputManifest): Promise<void> {
    if (!this.retained.enabled) return;
    try {
      this.outputs.watch(await this.retained.retain(jobId, outputsDir, manifest));
    } catch (error) {
      this.options.log.warn({ err: error, job: jobId }, "could not keep the outputs to serve peer to peer; they are in R2");
      await this.retained.remove(jobId).catch(() => undefined);
    }
  }

  /** The spec's input_files into `inputsDir`, each checked; how they came. Throws (naming the file) when they cannot be had intact. */
  async fetchInputs(jobId: string, files: readonly InputFile[], inputsDir: string, onDetail: (detail: string) => void, signal?: AbortSignal): Promise<TransferMeasure> {
    return fetchInputs({
      jobId,
      files,
      inputsDir,
      signaling: this.signaling,
      relay: this.relay,
      connectTimeoutMs: this.options.p2pConnectTimeoutMs,
      relayWaitMs: this.options.inputWaitS * 1000,
      ...(this.options.webrtcBindAddress ? { bindAddress: this.options.webrtcBindAddress } : {}),
      log: this.options.log,
      ...(signal ? { signal } : {}),
      onDetail,
    });
  }

  private async sweep(): Promise<void> {
    const kept = new Set((await this.retained.load()).map((retained) => retained.record.job_id));
    for (const jobId of this.outputs.jobs) if (!kept.has(jobId)) this.outputs.unwatch(jobId);
  }
}
