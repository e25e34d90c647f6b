// Runs one job in Docker: image (imagePull.ts), a locked-down container
// (sandbox.ts) with a size-limited /outputs (outputVolume.ts), its output read
// from Docker's log (containerLogs.ts), a timeout counted from the container's
// real start and a cancel that stop then kill, a watch on /outputs that kills a
// job filling it, and a verdict (outcome.ts). A container outlives the run: it
// is removed by `dispose` once the job's result is safe, so a daemon that dies
// in between finds it again (`resume`) instead of losing what it did.
import { join } from "node:path";
import type Docker from "dockerode";
import type { Logger } from "pino";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { ImageArrival, TransferMeasure } from "../../protocol/transferMetrics.ts";
import { MAX_OUTPUT_FILES } from "../../protocol/limits.ts";
import type { EgressEndpoint } from "../egress/jobEgress.ts";
import { holderOf, isHolder, openJobNetwork, removeHolder, strayHolder, type JobNetwork } from "../egress/jobNetwork.ts";
import { readContainerLogs } from "./containerLogs.ts";
import { ensureImage, imageAtHand, type ImageReady, type PullPolicy } from "./imagePull.ts";
import type { PrivateImages, RegistryCredentials } from "./privateImages.ts";
import { registryHostPolicy, type RegistryHostPolicy } from "./registryHost.ts";
import { maskSecrets } from "./secretMask.ts";
import { writeInputs } from "./inputs.ts";
import { verdictOf, type Ended, type Outcome } from "./outcome.ts";
import { describeExcess, folderUsage, watchOutputs } from "./outputWatcher.ts";
import { placeCheckpoint, type RestoredCheckpoint } from "../checkpoints/checkpointRestore.ts";
import { freshVolumeIn, outputVolumeOf, prepareOutputs, unmountOutputVolume, volumeUsage, type OutputVolumeKind } from "./outputVolume.ts";
import { containerOptions, containerUserFor, JOB_LABEL, PROVIDER_LABEL } from "./sandbox.ts";

export type { Outcome } from "./outcome.ts";
export type { PullPolicy } from "./imagePull.ts";

/** Seconds between SIGTERM and SIGKILL when a job is stopped. */
export const STOP_GRACE_S = 5;
/** Between looks at /outputs: a filesystem's counters are one call; a folder is walked (outputWatcher.ts). */
const OUTPUT_CHECK_MS = { filesystem: 200, folder: 1_000 } as const;
/** What `launch` says of a container removed before its start. */
const GONE = Symbol("gone");
/** Docker states of a container that has not ended yet. */
const STILL_GOING = new Set(["created", "running", "paused", "restarting"]);

export interface RunRequest {
  jobId: string;
  spec: JobSpec;
  gpuUuids: readonly string[];
  workDir: string;
  /** The job may reach the network through this proxy of the daemon's (egress/jobNetwork.ts); none when omitted. */
  egress?: EgressEndpoint;
  /** The values of the spec's `secrets`, from the hub's start (never written to disk by the daemon). */
  secrets?: Readonly<Record<string, string>>;
  /** The spec's registry_auth with its password, from the hub's start: the image is pulled (or its copy here checked) with it. */
  registryCredentials?: RegistryCredentials;
  /** The checkpoint a requeued job resumes from (spec.checkpoint), fetched already: put in /outputs/checkpoint before its start. */
  checkpoint?: RestoredCheckpoint;
}

/** A container an earlier daemon started, to be seen through to its end. */
export interface ResumeRequest extends RunRequest {
  containerId: string;
  /** The last log entry forwarded before: output after it is read from Docker's log. */
  logCursor?: string;
  pullMs: number;
}

export interface RunHooks {
  onPhase(phase: "pulling" | "running", detail?: string): void;
  onLog(chunk: string, cursor?: string): void;
  /** The container exists and is about to start: record it. */
  onContainer?(containerId: string): Promise<void> | void;
  /** The container has started: guard it. Not on the path to starting, so the guard's work does not slow the start. */
  onStarted?(containerId: string): void;
}

export interface RunResult {
  outcome: Outcome;
  exitCode: number | null;
  error: string | null;
  /** Worth telling though the job succeeded (a process killed for memory). */
  warning?: string | null;
  pullMs: number;
  runMs: number;
  outputsDir: string;
  /** The container, left for `dispose`; null when none was made. */
  containerId?: string | null;
  /** How the spec's input_files came, when it had any. */
  inputsTransfer?: TransferMeasure;
  /** Whether the image was warm, when this run got it (not for an adopted container). */
  image?: ImageArrival;
  /** When the container started and ended, as Docker recorded them. */
  ran?: { startedAt: string; finishedAt: string };
}

/** A job's container made ahead of its start (DockerExecutor.prepare). */
export interface PreparedContainer {
  containerId: string;
  image: ImageArrival;
  volume: OutputVolumeKind;
}

export interface DockerExecutorOptions {
  pullPolicy: PullPolicy;
  provider: string;
  /** Most bytes a job may write to /outputs; past it the container is killed. */
  maxOutputBytes: number;
  /** A size-limited filesystem for /outputs, or a plain folder (outputVolume.ts probes which). */
  outputVolume?: OutputVolumeKind;
  /** The images this daemon pulled with a job's credentials: their copies here are not every job's. */
  privateImages: PrivateImages;
  /** Where a job's pull may go (registryHost.ts); public registries only when omitted. */
  registryHosts?: RegistryHostPolicy;
}

export interface OwnContainer {
  id: string;
  jobId: string;
  state: string;
}

/** What a daemon calls on its executor for a job: the bench's simulated fleet (bench/fleet/simExecutor.ts) implements the same. */
export type JobExecutor = Pick<DockerExecutor, "prepare" | "run" | "resume" | "dispose" | "secretsOf">;

export class DockerExecutor {
  constructor(
    private readonly docker: Docker,
    private readonly log: Logger,
    private readonly options: DockerExecutorOptions,
  ) {}

  /** This provider's containers, as Docker has them now (an earlier run's included). */
  async ownContainers(): Promise<OwnContainer[]> {
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${PROVIDER_LABEL}=${this.options.provider}`] } });
    // An egress job's network holder is not its run: it goes with the container that joined it (removeContainer),
    // and one that no container joins is a leftover, given no job so it is never adopted as one.
    return found
      .filter((info) => !isHolder(info) || strayHolder(info, found))
      .map((info) => ({ id: info.Id, jobId: isHolder(info) ? "" : (info.Labels[JOB_LABEL] ?? ""), state: info.State }));
  }

  /** Removes a container, and the holder of its network if it joined one. */
  async removeContainer(id: string): Promise<void> {
    const holder = await holderOf(this.docker, id, this.options.provider);
    // The holder first: should the container's removal then fail, a retry still finds the holder gone. In the
    // other order a holder whose removal failed was found through a container no longer there, and was left.
    if (holder) await removeHolder(this.docker, holder);
    await this.removeOne(id);
  }

  private async removeOne(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (error) {
      // Gone already, or being removed by the run that owned it: nothing left to do.
      const status = (error as { statusCode?: number }).statusCode;
      if (status !== 404 && status !== 409) throw error;
    }
  }

  /** Removes every container of this provider (at shutdown, once the drain is over). */
  async removeAll(): Promise<number> {
    const own = await this.ownContainers();
    for (const container of own) {
      this.log.warn({ container: container.id, job: container.jobId }, "removing a container still there");
      await this.removeContainer(container.id);
    }
    return own.length;
  }

  /** The job's result is safe: its container and its /outputs volume go. */
  async dispose(workDir: string, containerId: string | null | undefined): Promise<void> {
    if (containerId) await this.removeContainer(containerId);
    await unmountOutputVolume(workDir);
  }

  /**
   * Makes the job's container while the hub confirms its accept, so that its start waits only for `docker start`:
   * when nothing on the way waits on the hub's word (the image already here, so no pull; no egress network).
   * Undefined when it cannot; `run` then does it all. Never started here: a job canceled before its start leaves a
   * created container for `dispose`, and a daemon's restart removes one (recovery/plan.ts).
   */
  async prepare(request: RunRequest): Promise<PreparedContainer | undefined> {
    // An egress job's container joins a network the run opens (openJobNetwork), its proxy listening first; one
    // with secrets gets their values with the hub's start, as one with registry_auth gets the password it pulls with.
    if (request.spec.network || request.spec.secrets || request.spec.registry_auth) return undefined;
    const ready = await imageAtHand(this.docker, request.spec.image, this.options.pullPolicy, this.options.privateImages);
    if (!ready) return undefined;
    const volume = await this.prepareFolders(request);
    const container = await this.createContainer(request, ready.imageId);
    this.log.debug({ job: request.jobId, volume }, "container made ahead");
    return { containerId: container.id, image: ready.arrival, volume };
  }

  /** The values a job's container was made with for these secret names (an adopted job's, to mask its log); none if it is gone. */
  async secretsOf(containerId: string, names: readonly string[]): Promise<Record<string, string> | undefined> {
    const env = await this.docker
      .getContainer(containerId)
      .inspect()
      .then((info) => info.Config.Env ?? [], () => undefined);
    if (!env) return undefined;
    const wanted = new Set(names);
    const values: Record<string, string> = {};
    for (const entry of env) {
      const eq = entry.indexOf("=");
      if (eq > 0 && wanted.has(entry.slice(0, eq))) values[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return values;
  }

  /** Image, folders, network (egress), container, then its start; or only the start of a container `prepare` made. */
  async run(request: RunRequest, hooks: RunHooks, signal: AbortSignal, prepared?: PreparedContainer): Promise<RunResult> {
    const pullStarted = Date.now();
    const result = (outcome: Outcome, error: string | null, extra: Partial<RunResult> = {}) => unstarted(request, pullStarted, outcome, error, extra);
    if (prepared) {
      const container = this.docker.getContainer(prepared.containerId);
      if (signal.aborted) return result("canceled", "canceled before the container started", { containerId: container.id });
      const launched = await this.launch(container, request, prepared, hooks, signal, pullStarted);
      if (launched !== GONE) return launched;
      // Removed meanwhile (a `docker container prune` takes created containers): made again below.
      this.log.warn({ job: request.jobId }, "the container made ahead is gone; making it again");
    }

    let ready: ImageReady;
    try {
      const access = { privateImages: this.options.privateImages, registryHosts: this.options.registryHosts ?? registryHostPolicy(), credentials: request.registryCredentials };
      ready = await ensureImage(this.docker, request.spec.image, this.options.pullPolicy, hooks.onPhase, signal, access);
    } catch (error) {
      if (signal.aborted) return result("canceled", "canceled while the image was being pulled");
      // Never the password, should an engine or a registry quote it.
      const why = maskSecrets(`could not get image ${request.spec.image}: ${(error as Error).message}`, request.registryCredentials ? [request.registryCredentials.password] : []);
      return result("failed", why);
    }
    if (signal.aborted) return result("canceled", "canceled before the container started");
    const { arrival: image, imageId } = ready;
    this.log.debug({ job: request.jobId, image: image.warm }, "image ready");

    const volume = await this.prepareFolders(request);
    this.log.debug({ job: request.jobId, volume }, "folders ready");
    let network: JobNetwork | undefined;
    if (request.egress) {
      try {
        network = await openJobNetwork(this.docker, { jobId: request.jobId, provider: this.options.provider, image: imageId, workDir: request.workDir, proxySocketPath: request.egress.proxySocketPath, adopt: request.egress.adopt, log: this.log });
      } catch (error) {
        return result("failed", `could not give the job its network: ${dockerMessage(error)}`);
      }
    }
    let container: Docker.Container;
    try {
      if (network && signal.aborted) throw new Error("canceled before the container started");
      container = await this.createContainer(request, imageId, network);
    } catch (error) {
      // No container joined the holder, so nothing else would remove it.
      await network?.close();
      if (network && signal.aborted) return result("canceled", "canceled before the container started");
      throw error;
    }
    this.log.debug({ job: request.jobId }, "container created");
    const launched = await this.launch(container, request, { image, volume }, hooks, signal, pullStarted);
    return launched === GONE ? result("failed", "the container could not start: it was removed before its start", { containerId: container.id }) : launched;
  }

  /** Records the container, starts it and sees it through; GONE when it was removed before its start. */
  private async launch(container: Docker.Container, request: RunRequest, made: Omit<PreparedContainer, "containerId">, hooks: RunHooks, signal: AbortSignal, pullStarted: number): Promise<RunResult | typeof GONE> {
    const pullMs = Date.now() - pullStarted;
    await hooks.onContainer?.(container.id);
    try {
      await container.start();
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return GONE;
      return unstarted(request, pullStarted, "failed", `the container could not start: ${dockerMessage(error)}`, { pullMs, containerId: container.id });
    }
    hooks.onPhase("running");
    hooks.onStarted?.(container.id);
    this.log.info({ job: request.jobId }, "container started");
    return { ...(await this.supervise(container, request, made.volume, undefined, hooks, signal, pullMs)), image: made.image };
  }

  private createContainer(request: RunRequest, imageId: string, network?: JobNetwork): Promise<Docker.Container> {
    return this.docker.createContainer(
      containerOptions({
        jobId: request.jobId,
        provider: this.options.provider,
        spec: request.spec,
        gpuUuids: request.gpuUuids,
        inputsDir: join(request.workDir, "inputs"),
        outputsDir: join(request.workDir, "outputs"),
        user: containerUserFor(process.getuid?.(), process.getgid?.()),
        ...(network ? { network: { mode: network.networkMode, env: network.env } } : {}),
        ...(request.secrets ? { secrets: request.secrets } : {}),
        imageId,
      }),
    );
  }

  /** The inline inputs written, and /outputs made ready (with its checkpoint folder, for a job that saves them). */
  private async prepareFolders(request: RunRequest): Promise<OutputVolumeKind> {
    await writeInputs(join(request.workDir, "inputs"), request.spec.inputs ?? []);
    const volume = await this.prepareOutputs(request);
    if (request.spec.checkpoint) await placeCheckpoint(join(request.workDir, "outputs"), request.checkpoint);
    return volume;
  }

  /** Sees a container an earlier daemon started through to its end, reading its output on from `logCursor`. */
  async resume(request: ResumeRequest, hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    const container = this.docker.getContainer(request.containerId);
    const volume = await outputVolumeOf(request.workDir);
    return this.supervise(container, request, volume, request.logCursor, hooks, signal, request.pullMs);
  }

  /** The volume the settings ask for; a mount that fails falls back to a watched folder, and says so. */
  private async prepareOutputs(request: RunRequest): Promise<OutputVolumeKind> {
    const kind = this.options.outputVolume ?? "folder";
    // A folder taken from the spares (spareJobFolders.ts) has its empty volume mounted already.
    if (kind === "filesystem" && (await freshVolumeIn(request.workDir))) return kind;
    try {
      await prepareOutputs(request.workDir, this.options.maxOutputBytes, kind);
      return kind;
    } catch (error) {
      if (kind === "folder") throw error;
      this.log.warn({ err: error, job: request.jobId }, "could not mount a size-limited /outputs; watching a plain folder instead");
      await prepareOutputs(request.workDir, this.options.maxOutputBytes, "folder");
      return "folder";
    }
  }

  private async supervise(
    container: Docker.Container,
    request: RunRequest,
    volume: OutputVolumeKind,
    logCursor: string | undefined,
    hooks: RunHooks,
    signal: AbortSignal,
    pullMs: number,
  ): Promise<RunResult> {
    const outputsDir = join(request.workDir, "outputs");
    const limits = { maxFiles: MAX_OUTPUT_FILES, maxTotalBytes: this.options.maxOutputBytes };
    const logs = await readContainerLogs(container, logCursor, (entry) => hooks.onLog(entry.text, entry.cursor));
    const before = (await container.inspect()).State;
    // From the container's own start, so a re-adopted job gets no more time than it had.
    const startedAt = Date.parse(before.StartedAt);
    const deadline = startedAt + request.spec.timeout_s * 1000;
    // One that ended while no daemon watched (a re-adopted job) is taken as Docker saw it end.
    const waited = STILL_GOING.has(before.Status) ? await this.waitOrStop(container, deadline - Date.now(), signal, outputsDir, volume) : "exited";
    this.log.debug({ job: request.jobId, ended: waited }, "container ended");
    await logs.finish();
    const state = (await container.inspect()).State;
    const finishedAt = Date.parse(state.FinishedAt);
    const finished = Number.isFinite(finishedAt) && finishedAt >= startedAt;
    const runMs = finished ? finishedAt - startedAt : Date.now() - startedAt;
    // A stop sent at a deadline that had passed while no daemon watched: the container may have ended on its own before it.
    const ended = waited === "timed_out" && finished && finishedAt < deadline ? "exited" : waited;
    const exitCode = typeof state.ExitCode === "number" ? state.ExitCode : null;
    const excess = ended === "exited" ? describeExcess(await folderUsage(outputsDir, limits), limits) : undefined;
    const verdict = verdictOf(ended, { exitCode, oomKilled: state.OOMKilled === true, runMs }, request.spec, excess);
    return { ...verdict, exitCode, pullMs, runMs, outputsDir, containerId: container.id, ...(finished ? { ran: { startedAt: state.StartedAt, finishedAt: state.FinishedAt } } : {}) };
  }

  private async waitOrStop(container: Docker.Container, timeoutMs: number, signal: AbortSignal, outputsDir: string, volume: OutputVolumeKind): Promise<Ended> {
    let stopping: Exclude<Ended, "exited"> | undefined;
    const stop = (why: "timed_out" | "canceled") => {
      if (stopping) return;
      stopping = why;
      container.stop({ t: STOP_GRACE_S }).catch(() => container.kill().catch(() => undefined));
    };
    const timer = setTimeout(() => stop("timed_out"), Math.max(0, timeoutMs));
    const onAbort = () => stop("canceled");
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    // Killed at once, no grace: every second it keeps writing fills the provider's disk.
    const watch = watchOutputs(
      outputsDir,
      { maxFiles: MAX_OUTPUT_FILES, maxTotalBytes: this.options.maxOutputBytes },
      (reason) => {
        if (stopping) return;
        stopping = { tooMuchOutput: reason };
        container.kill().catch(() => container.stop({ t: 0 }).catch(() => undefined));
      },
      {
        intervalMs: OUTPUT_CHECK_MS[volume],
        ...(volume === "filesystem" ? { measure: () => volumeUsage(outputsDir) } : {}),
        onError: (error) => this.log.warn({ err: error, outputsDir }, "could not measure /outputs"),
      },
    );
    try {
      await container.wait();
    } finally {
      clearTimeout(timer);
      watch.stop();
      signal.removeEventListener("abort", onAbort);
    }
    return stopping ?? "exited";
  }
}

/** The result of a run whose container never ran: nothing of it to report but why. */
function unstarted(request: RunRequest, pullStarted: number, outcome: Outcome, error: string | null, extra: Partial<RunResult> = {}): RunResult {
  return { outcome, exitCode: null, error, pullMs: Date.now() - pullStarted, runMs: 0, outputsDir: join(request.workDir, "outputs"), containerId: null, ...extra };
}

function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } }).json;
  return json?.message ?? (error as Error).message;
}
