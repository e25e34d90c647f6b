// The daemon's data plane, assembled: signaling over the hub socket, a job's
// input files fetched before it starts (and kept until its settlement is final,
// for a mediator), finished jobs' outputs kept and served peer to peer, and
// reports of what was served. Transfer processes are started ahead of need.
import { join } from "node:path";
import type { Logger } from "pino";
import { HUB_PROTOCOL_VERSION } from "../../protocol/hubMessages.ts";
import { isConsumerRole } from "../../protocol/signaling.ts";
import type { ManifestFile, OutputManifest } from "../../protocol/manifest.ts";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ResolvedInputFile } from "../../protocol/jobSpec.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import type { HubClient } from "../connection/hubClient.ts";
import { fetchThroughCache, type CachedFetch } from "./cachedInputs.ts";
import type { InputCache } from "./inputCache.ts";
import { fetchInputs, type FetchedInputs } from "./inputsFetch.ts";
import { describeProgress } from "./progressDetail.ts";
import { RelayClient } from "./relayClient.ts";
import { JobSignaling } from "./jobSignaling.ts";
import { RetainedFilesServer } from "./retainedFilesServer.ts";
import { MAX_INPUT_RETENTION_MS, RetainedInputs } from "./retainedInputs.ts";
import { RetainedOutputs } from "./retainedOutputs.ts";
import { fetchSourcesFromPeers } from "./peerSourceFetch.ts";
import { fetchFromSources, isFromSource, onlyCreatorFiles, withSourceFiles, type FetchedFromSources, type SourceInputFile } from "./sourceFetch.ts";

/** How often expired outputs, and inputs no longer needed, are looked for while the daemon runs. */
const SWEEP_MS = 60_000;
/** How often the API is asked whether one job's kept inputs are still needed. */
const INPUTS_CHECK_MS = 10 * 60_000;
/** A cached input is hashed again in the background once this long has passed since it last was (one file a sweep). */
const CACHE_RECHECK_MS = 24 * 3600 * 1000;

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
  /** Input files kept by sha256 across jobs; none when the provider's cache budget is 0. */
  inputCache?: InputCache;
}

export class DataPlane {
  readonly signaling: JobSignaling;
  readonly connectTimeoutMs: number;
  readonly bindAddress: string | undefined;
  private readonly retainedOutputs: RetainedOutputs;
  private readonly retainedInputs: RetainedInputs;
  private readonly relay: RelayClient;
  private readonly outputs: RetainedFilesServer;
  private readonly inputs: RetainedFilesServer;
  /** Each kept job's inputs: when they were kept, and when the API last said they are still needed. */
  private readonly keptInputs = new Map<string, { keptAt: number; checkedAt: number }>();
  private readonly processes = new SpareTransferProcesses();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly options: DataPlaneOptions) {
    const { hub, log } = options;
    this.signaling = new JobSignaling(hub, log);
    // Fetched ahead, so the first offer after a job ends is answered without a round trip for credentials.
    hub.on("welcome", () => void this.signaling.iceServers());
    this.connectTimeoutMs = options.p2pConnectTimeoutMs;
    this.bindAddress = options.webrtcBindAddress;
    this.relay = new RelayClient(options.api, options.account);
    this.retainedOutputs = new RetainedOutputs(join(options.dataDir, "retained"), options.outputRetentionS * 1000);
    this.retainedInputs = new RetainedInputs(join(options.dataDir, "retained-inputs"));
    const served = { signaling: this.signaling, log, connectTimeoutMs: options.p2pConnectTimeoutMs, ...(options.webrtcBindAddress ? { bindAddress: options.webrtcBindAddress } : {}) };
    this.outputs = new RetainedFilesServer({
      ...served,
      // The creator, and a pipeline's next job's provider (the hub let it signal only for a job of its own that takes these).
      serves: (role) => role === "creator" || isConsumerRole(role),
      what: "outputs",
      processes: this.processes,
      // The job's metrics count its creator's download; a consumer's fetch is the consuming job's to report.
      onServed: (transfer) => transfer.to === "creator" && void hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.transfer", job_id: transfer.jobId, direction: "outputs", transfer: { route: transfer.route, bytes: transfer.bytes, ms: Math.round(transfer.ms) } }),
    });
    this.inputs = new RetainedFilesServer({ ...served, serves: (role) => role === "mediator", what: "inputs", processes: this.processes });
  }

  /** At start: outputs and inputs an earlier run kept, served again until they are not needed (expired ones removed). */
  async start(): Promise<void> {
    for (const retained of await this.retainedOutputs.load()) this.outputs.watch({ jobId: retained.record.job_id, manifest: retained.record.transfer, root: retained.outputsDir });
    for (const kept of await this.retainedInputs.load()) {
      this.inputs.watch(kept);
      this.keptInputs.set(kept.jobId, { keptAt: kept.keptAt, checkedAt: 0 });
    }
    this.sweeper = setInterval(() => void this.sweep().catch((error: unknown) => this.options.log.warn({ err: error }, "could not remove expired outputs or inputs")), SWEEP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.outputs.close();
    this.inputs.close();
    this.processes.close();
  }

  /**
   * Keeps a succeeded job's outputs (moved out of its folder before that goes)
   * and serves them from now on. A failure here only costs the peer-to-peer
   * path: the outputs are in R2 already.
   */
  async retainOutputs(jobId: string, outputsDir: string, manifest: OutputManifest): Promise<void> {
    if (!this.retainedOutputs.enabled) return;
    try {
      const retained = await this.retainedOutputs.retain(jobId, outputsDir, manifest);
      this.outputs.watch({ jobId, manifest: retained.record.transfer, root: retained.outputsDir });
      // A pipeline's next job, which takes these as inputs, finds them here if it is sent here (they are advertised warm).
      await this.options.inputCache?.keep(retained.record.transfer.files, retained.outputsDir).catch((error: unknown) => this.options.log.warn({ err: error, job: jobId }, "could not keep the outputs in the input cache"));
    } catch (error) {
      this.options.log.warn({ err: error, job: jobId }, "could not keep the outputs to serve peer to peer; they are in R2");
      await this.retainedOutputs.remove(jobId).catch(() => undefined);
    }
  }

  /**
   * The spec's input_files into `inputsDir`, each checked, from the creator (else the relay); how
   * they came. Kept afterwards until the job's settlement is final, for a mediator. Throws (naming
   * the file) when they cannot be had intact.
   */
  async fetchInputs(jobId: string, files: readonly ResolvedInputFile[], inputsDir: string, onDetail: (detail: string) => void, signal?: AbortSignal): Promise<TransferMeasure> {
    // The cache first: a file it holds moves no bytes (cachedInputs.ts).
    const fetched = await fetchThroughCache(this.options.inputCache, files, inputsDir, () => this.fetchRest({ jobId, files, inputsDir, onDetail, signal, peers: ["creator"] }, { sourcesPeerToPeer: true }));
    // Kept for a mediator: the creator's files only (one from another job's outputs, a mediator reads from R2 itself).
    const kept = onlyCreatorFiles(fetched, files);
    if (kept.manifest.files.length > 0) await this.retainInputs(jobId, inputsDir, kept);
    return fetched.measure;
  }

  /** A challenged job's input_files for a mediator's re-run: from the provider that kept them, else its creator, else the relay. */
  async fetchInputsForMediation(jobId: string, files: readonly ResolvedInputFile[], inputsDir: string, signal?: AbortSignal): Promise<FetchedInputs> {
    // A mediator is not the job's provider: the hub would not let it meet the source jobs' providers.
    return this.fetchRest({ jobId, files, inputsDir, onDetail: () => undefined, signal, peers: ["provider", "creator"] }, { sourcesPeerToPeer: false });
  }

  /**
   * A challenged job's own outputs, as its provider delivered them (each checked against the signed
   * manifest's size and sha256), for a mediator to judge them against its re-run. Throws an
   * InputsError with httpStatus 404 when one is not there.
   */
  async fetchOutputsForJudging(jobId: string, files: readonly ManifestFile[], dir: string, signal?: AbortSignal): Promise<void> {
    await fetchFromSources({
      api: this.options.api,
      account: this.options.account,
      jobId,
      read: "outputs",
      files: files.map((file) => ({ path: file.path, size: file.size, sha256: file.sha256, from: { job: jobId, output: file.path } })),
      inputsDir: dir,
      ...(signal ? { signal } : {}),
    });
  }

  /**
   * The files the creator brought, from the peers (else the relay), and side by side those that are
   * other jobs' outputs, from where those jobs left them (peerSourceFetch.ts, sourceFetch.ts): the
   * creator is not on their path.
   */
  private async fetchRest(request: Parameters<DataPlane["fetch"]>[0], how: { sourcesPeerToPeer: boolean }): Promise<FetchedInputs> {
    const fromSources = request.files.filter(isFromSource);
    if (fromSources.length === 0) return this.fetch(request);
    const started = performance.now();
    const creators = request.files.filter((file) => !isFromSource(file));
    const [own, sourced] = await Promise.all([
      creators.length > 0 ? this.fetch({ ...request, files: creators }) : undefined,
      this.fetchSources(request, fromSources, how.sourcesPeerToPeer),
    ]);
    return withSourceFiles(own, sourced, performance.now() - started);
  }

  /** Inputs that are other jobs' outputs: from those jobs' providers peer to peer, and what did not come so from R2. */
  private async fetchSources(request: Parameters<DataPlane["fetch"]>[0], files: SourceInputFile[], peerToPeer: boolean): Promise<FetchedFromSources> {
    const { jobId, inputsDir, signal } = request;
    const direct = peerToPeer ? await this.fetchSourcesFromPeers(request, files) : { files: [], bytes: 0, route: undefined };
    const came = new Set(direct.files.map((file) => file.path));
    const rest = files.filter((file) => !came.has(file.path));
    const stored =
      rest.length === 0
        ? { bytes: 0, files: [] }
        : await fetchFromSources({
            api: this.options.api,
            account: this.options.account,
            jobId,
            files: rest,
            inputsDir,
            ...(signal ? { signal } : {}),
            onProgress: (done, total) => request.onDetail(describeProgress("receiving inputs", done, total, "from the source job's outputs")),
          });
    const route = direct.route && direct.bytes >= stored.bytes ? direct.route : "outputs";
    return { bytes: direct.bytes + stored.bytes, files: [...direct.files, ...stored.files], route };
  }

  private fetchSourcesFromPeers(request: Parameters<DataPlane["fetch"]>[0], files: SourceInputFile[]) {
    const { signal } = request;
    return fetchSourcesFromPeers({
      ...request,
      // Outputs this provider serves itself are not fetched from itself over the network (its input cache has them, unless off).
      files: files.filter((file) => !this.outputs.jobs.includes(file.from.job)),
      signaling: this.signaling,
      connectTimeoutMs: this.options.p2pConnectTimeoutMs,
      ...(this.options.webrtcBindAddress ? { bindAddress: this.options.webrtcBindAddress } : {}),
      processes: this.processes,
      log: this.options.log,
      ...(signal ? { signal } : {}),
    });
  }

  private fetch(request: Pick<Parameters<typeof fetchInputs>[0], "jobId" | "files" | "inputsDir" | "onDetail" | "peers"> & { signal: AbortSignal | undefined }): Promise<FetchedInputs> {
    const { signal, ...rest } = request;
    return fetchInputs({
      ...rest,
      signaling: this.signaling,
      relay: this.relay,
      connectTimeoutMs: this.options.p2pConnectTimeoutMs,
      relayWaitMs: this.options.inputWaitS * 1000,
      ...(this.options.webrtcBindAddress ? { bindAddress: this.options.webrtcBindAddress } : {}),
      processes: this.processes,
      log: this.options.log,
      ...(signal ? { signal } : {}),
    });
  }

  /** A failure here costs only the mediator's peer-to-peer path to this provider: the creator, or the relay, still has them. */
  private async retainInputs(jobId: string, inputsDir: string, fetched: CachedFetch): Promise<void> {
    try {
      const kept = await this.retainedInputs.retain(jobId, inputsDir, fetched.manifest);
      this.inputs.watch(kept);
      this.keptInputs.set(jobId, { keptAt: kept.keptAt, checkedAt: Date.now() });
    } catch (error) {
      this.options.log.warn({ err: error, job: jobId }, "could not keep the job's inputs for a mediator");
      await this.retainedInputs.remove(jobId).catch(() => undefined);
    }
  }

  private async sweep(): Promise<void> {
    const kept = new Set((await this.retainedOutputs.load()).map((retained) => retained.record.job_id));
    for (const jobId of this.outputs.jobs) if (!kept.has(jobId)) this.outputs.unwatch(jobId);
    await this.sweepInputs();
    await this.options.inputCache?.recheckOldest(CACHE_RECHECK_MS);
  }

  /** Kept inputs the API says no mediator can need any more (or past the longest retention) go. */
  private async sweepInputs(now = Date.now()): Promise<void> {
    for (const [jobId, kept] of this.keptInputs) {
      const expired = now - kept.keptAt > MAX_INPUT_RETENTION_MS;
      if (!expired && now - kept.checkedAt < INPUTS_CHECK_MS) continue;
      // An API that cannot answer now is asked again at the next sweep; the files stay meanwhile.
      if (!expired && (await this.relay.inputsNeeded(jobId).catch(() => true))) {
        kept.checkedAt = now;
        continue;
      }
      this.inputs.unwatch(jobId);
      this.keptInputs.delete(jobId);
      await this.retainedInputs.remove(jobId);
      this.options.log.info({ job: jobId }, "removed the job's kept inputs: no mediator can need them now");
    }
  }
}
