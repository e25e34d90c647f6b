// Runs one accepted job to its reported result: a fresh run, or a container an
// earlier daemon left (re-adopted at start). Its output goes to the hub with
// the cursor of what went out kept in the job's record; its container gets a
// watchdog; the result goes to the outbox before the container and the job's
// folder are removed (and those, when they can be, before the hub hears it),
// so a crash at any point leaves either a container to adopt or a result to resend.
import { join } from "node:path";
import type { Logger } from "pino";
import type { TypedDataDomain } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { HUB_PROTOCOL_VERSION, type OfferMessage, type ResultMessage } from "../protocol/hubMessages.ts";
import { resolvedInputFiles, type SecretValues } from "../protocol/jobSpec.ts";
import { hubMessageLimits } from "../protocol/limits.ts";
import type { TransferMeasure } from "../protocol/transferMetrics.ts";
import type { HubClient } from "./connection/hubClient.ts";
import type { DataPlane } from "./dataplane/dataPlane.ts";
import type { GpuSampler, StopSampling } from "./resources/gpuSampler.ts";
import type { CheckpointSaver } from "./checkpoints/checkpointSaver.ts";
import { restoreCheckpoint, resumesFromCheckpoint, startSaving } from "./checkpoints/jobCheckpoints.ts";
import { openJobEgress, type EgressEndpoint, type EgressSettings } from "./egress/jobEgress.ts";
import type { SpareJobFolders } from "./executor/spareJobFolders.ts";
import type { JobExecutor, PreparedContainer, RunHooks, RunResult } from "./executor/docker.ts";
import { LogForwarder } from "./executor/logForwarder.ts";
import { registryCredentialsOf } from "./executor/privateImages.ts";
import { maskSecrets, SecretMask } from "./executor/secretMask.ts";
import { withoutHostPaths } from "./hostPaths.ts";
import type { JobRecordFile } from "./jobRecord.ts";
import { removeLeftovers } from "./leftovers.ts";
import type { ResultOutbox } from "./outbox.ts";
import { throttledDetail } from "./dataplane/progressDetail.ts";
import { buildResult, unsuccessfulResult, type JobRunExtras } from "./results.ts";
import { truncate } from "./truncate.ts";
import type { WarmAdvertiser } from "./warmAdvertiser.ts";
import type { ContainerGuard } from "./watchdog/spawn.ts";

export interface RunningJob {
  offer: OfferMessage;
  workDir: string;
  record: JobRecordFile;
  abort: AbortController;
  phase: "accepted" | "pulling" | "running" | "finishing";
  containerId?: string;
  /** Its container, made while the hub confirmed the accept (prepare); settles undefined when it was not. */
  prepared?: Promise<PreparedContainer | undefined>;
  /** Why the daemon stopped the job itself (its egress budget used up): it fails saying so. */
  stopReason?: string;
  /** Called once its result is sent: its capacity is free for the next job while its container and folder go (a drain still waits for them). */
  ended?: () => void;
  /** Its result has gone to the hub once. A reconnect before the answer sends it again: the first may have gone down with the old connection. */
  resultSent?: boolean;
  /** The values of its spec's `secrets`, from the hub's start: in memory only, never in its record. */
  secrets?: SecretValues;
  /** The password for its spec's registry_auth, from the hub's start: in memory only, never in its record or its container. */
  registryPassword?: string;
}

type JobRun = RunResult & JobRunExtras;

/**
 * How long an ended job's cleanup waits for the hub's answer to its result. Not longer: the result is safe
 * in the outbox, and a hub that is away must not keep the job's container and disk.
 */
const ACK_WAIT_MS = 2_000;

export interface JobRunnerDeps {
  api: string;
  /** The daemon's data folder: never named to a creator. */
  dataDir: string;
  account: PrivateKeyAccount;
  maxOutputBytes: number;
  hub: HubClient;
  executor: JobExecutor;
  outbox: ResultOutbox;
  watchdogs: ContainerGuard;
  log: Logger;
  /** The EIP-712 domain of the current connection. */
  domain(): TypedDataDomain;
  /** Whether the connected hub takes small outputs inline in a result (its welcome). */
  hubTakesInline(): boolean;
  /** Transfers of the job's files: inputs before it runs, outputs kept and served after. */
  dataPlane?: DataPlane;
  /** Told when a job's image is now in the engine, so the hub hears it is warm here. */
  warm?: WarmAdvertiser;
  /** Present when this provider offers egress (--egress): its limits for every job's proxy. */
  egress?: EgressSettings;
  /** Job folders made ahead with their /outputs mounted (the daemon takes one at accept; the next is made once the job runs). */
  spares?: SpareJobFolders;
  /** Present when this host has GPUs: what each job's GPUs did goes into its result. */
  gpuSampler?: GpuSampler;
}

export class JobRunner {
  /** Settles at the hub's next welcome, for the jobs whose results wait for a connection. */
  private welcome: Promise<void> | undefined;
  /** Jobs whose cleanup waits for the hub's answer to their result. */
  private readonly awaitingAck = new Map<string, () => void>();

  constructor(private readonly deps: JobRunnerDeps) {
    deps.hub.on("message", (message) => {
      if (message.type === "job.result.ack") this.awaitingAck.get(message.job_id)?.();
    });
  }

  /**
   * Makes an accepted job's container while the hub confirms the accept (DockerExecutor.prepare says when it can),
   * so that its run only starts it. A failure here costs nothing: the run makes it then.
   */
  prepare(job: RunningJob): void {
    // A checkpoint to resume from is fetched first, once the hub's start says the job is this provider's.
    if (job.abort.signal.aborted || resumesFromCheckpoint(job.offer)) return;
    job.prepared ??= this.deps.executor
      .prepare(this.runRequest(job))
      .then((prepared) => {
        if (prepared) job.containerId = prepared.containerId;
        return prepared;
      })
      .catch((error: unknown) => {
        this.deps.log.warn({ err: error, job: job.offer.job_id }, "could not make the container ahead; it is made at the start");
        return undefined;
      });
  }

  /** A fresh run: input files, pull, create, start, wait. */
  async run(job: RunningJob): Promise<void> {
    await this.see(job, { running: false }, async (hooks) => {
      // A hub that started it without them: run without its secrets, it would not be the job its creator asked for.
      if (job.offer.spec.secrets && !job.secrets) throw new Error("the hub's start carried no values for the job's secrets");
      if (job.offer.spec.registry_auth && job.registryPassword === undefined) throw new Error("the hub's start carried no password for the job's registry_auth");
      const inputsTransfer = await this.receiveInputs(job, hooks);
      const checkpoint = await restoreCheckpoint(this.deps, job, throttledDetail((detail) => hooks.onPhase("pulling", detail)), job.abort.signal);
      const prepared = await job.prepared;
      const request = { ...this.runRequest(job), ...(checkpoint ? { checkpoint } : {}) };
      const run = await this.withEgress(job, (egress) => this.deps.executor.run({ ...request, ...(egress ? { egress } : {}) }, hooks, job.abort.signal, prepared));
      if (run.image) this.deps.warm?.imageUsed(job.offer.spec.image);
      return inputsTransfer ? { ...run, inputsTransfer } : run;
    });
  }

  /**
   * The job is over for this daemon: its container (`containerId`, else the one recorded or made ahead, waited for
   * if still being made), its /outputs volume and its folder go. For a job that never started too.
   */
  async discard(job: RunningJob, containerId?: string | null): Promise<void> {
    await job.prepared;
    await removeLeftovers(this.deps.executor, this.deps.log, { jobId: job.offer.job_id, workDir: job.workDir, containerId: containerId ?? job.containerId });
  }

  private runRequest(job: RunningJob) {
    const credentials = registryCredentialsOf(job.offer.spec, job.registryPassword);
    return {
      jobId: job.offer.job_id,
      spec: job.offer.spec,
      gpuUuids: job.offer.gpu_uuids,
      workDir: job.workDir,
      ...(job.secrets ? { secrets: job.secrets } : {}),
      ...(credentials ? { registryCredentials: credentials } : {}),
    };
  }

  /**
   * Runs the job behind its egress proxy when its spec allows network egress: the proxy listens before the
   * container is made and closes after it ended, its usage going into the result; a budget used up stops the job.
   */
  private async withEgress(job: RunningJob, execute: (egress?: EgressEndpoint) => Promise<RunResult>): Promise<JobRun> {
    const { network } = job.offer.spec;
    if (!network) return execute();
    // The daemon declines such offers without egress; a job adopted after a restart without --egress ends here.
    if (!this.deps.egress) throw new Error("this provider does not offer network egress, which the job's network.allow needs");
    const { egress: resumeFrom } = job.record.current;
    const egress = await openJobEgress({ jobId: job.offer.job_id, network, workDir: job.workDir, ...(resumeFrom ? { resumeFrom } : {}) }, this.deps.egress, this.deps.log, {
      onExceeded: (reason) => {
        job.stopReason = reason;
        job.abort.abort();
      },
      onProgress: (snapshot) => {
        job.record.update({ egress: snapshot }).catch((error: unknown) => this.deps.log.warn({ err: error, job: job.offer.job_id }, "could not write the job's egress to its record"));
      },
    });
    try {
      const run = await execute(egress);
      const stopped = job.stopReason && run.outcome === "canceled" ? { outcome: "failed" as const, error: job.stopReason } : {};
      return { ...run, ...stopped, egress: egress.usage() };
    } finally {
      await egress.close();
    }
  }

  /** The spec's input_files, each checked against it, before anything runs. */
  private async receiveInputs(job: RunningJob, hooks: RunHooks): Promise<TransferMeasure | undefined> {
    // Resolved by the API: an entry naming another job's output comes with that output's size and sha256.
    const files = resolvedInputFiles(job.offer.spec);
    if (files.length === 0) return undefined;
    const { dataPlane, log } = this.deps;
    if (!dataPlane) throw new Error("this provider cannot receive input files");
    const measure = await dataPlane.fetchInputs(job.offer.job_id, files, join(job.workDir, "inputs"), throttledDetail((detail) => hooks.onPhase("pulling", detail)), job.abort.signal);
    log.info({ job: job.offer.job_id, ...measure }, "inputs received");
    return measure;
  }

  /** A container an earlier daemon started: guarded again, its output read on from the record's cursor. */
  async resume(job: RunningJob, containerId: string): Promise<void> {
    job.containerId = containerId;
    const { record } = job;
    // Never in the record, and no start brings them again for a job already running: its container has them, for the mask.
    if (job.offer.spec.secrets) job.secrets ??= await this.deps.executor.secretsOf(containerId, job.offer.spec.secrets);
    await this.guard(job, containerId);
    // Adopted at start, before the hub is connected: what the container printed meanwhile would be read and dropped.
    await this.hubConnected(job);
    await this.see(job, { running: true }, (hooks) =>
      this.withEgress(job, () => this.deps.executor.resume(
        {
          jobId: job.offer.job_id,
          spec: job.offer.spec,
          gpuUuids: job.offer.gpu_uuids,
          workDir: job.workDir,
          containerId,
          pullMs: record.current.pull_ms ?? 0,
          ...(record.current.log ? { logCursor: record.current.log.cursor } : {}),
        },
        hooks,
        job.abort.signal,
      )),
    );
  }

  private async see(job: RunningJob, container: { running: boolean }, execute: (hooks: RunHooks) => Promise<JobRun>): Promise<void> {
    const { hub, log } = this.deps;
    const jobId = job.offer.job_id;
    const saveRecord = (what: string) => (error: unknown) => log.warn({ err: error, job: jobId }, `could not save ${what} in the job record`);
    const logs = new LogForwarder({
      send: (data) => hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data }),
      onForwarded: (cursor, forwardedBytes) => void job.record.update({ log: { cursor, forwarded_bytes: forwardedBytes } }).catch(saveRecord("the log cursor")),
    });
    const mask = new SecretMask(Object.values(job.secrets ?? {}));
    // A piece whose end the mask holds back moves no cursor: a restart reads that entry again rather than lose its end.
    const forward = (chunk: string, cursor?: string) => {
      const text = mask.push(chunk);
      if (text) logs.push(text, mask.holding ? undefined : cursor);
    };
    const started = Date.now();
    // From the container's start (an adopted one runs already): samples of its pull would only dilute the figures.
    let stopGpuSampling: StopSampling | undefined;
    let checkpoints: CheckpointSaver | undefined;
    const whileRunning = () => {
      stopGpuSampling ??= this.deps.gpuSampler?.track(jobId, job.offer.gpu_uuids);
      // Pond's own words, past the mask: through it, a notice would release a secret's start the mask holds back.
      checkpoints ??= startSaving(this.deps, job, (text) => logs.push(`\n[pond: ${text}]\n`));
    };
    if (container.running) whileRunning();
    let run: JobRun;
    try {
      run = await execute({
        onPhase: (phase, detail) => {
          job.phase = phase;
          log.info({ job: jobId, phase, detail }, "job phase");
          hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase, ...(detail ? { detail: truncate(detail, hubMessageLimits.statusDetail) } : {}) });
        },
        onLog: forward,
        onContainer: async (containerId) => {
          job.containerId = containerId;
          // Before it starts: a daemon that restarts from here finds the container to adopt (and guard).
          await job.record.update({ container_id: containerId, pull_ms: Date.now() - started }).catch(saveRecord("the container"));
        },
        // Its watchdog is a process of its own, loaded while the container runs rather than before it starts.
        onStarted: (containerId) => {
          whileRunning();
          void this.guard(job, containerId);
        },
      });
    } catch (error) {
      run = { outcome: "failed", exitCode: null, error: `the provider could not run the job: ${(error as Error).message}`, pullMs: 0, runMs: 0, outputsDir: join(job.workDir, "outputs") };
    }
    const gpu = stopGpuSampling?.();
    if (gpu) run = { ...run, gpu };
    // Before the result: no checkpoint of this job reaches the hub after it. Its failure must not keep the result back.
    await checkpoints?.stop().catch((error: unknown) => log.warn({ err: error, job: jobId }, "could not clear the job's checkpoint copies"));
    job.phase = "finishing";
    log.debug({ job: jobId, outcome: run.outcome }, "run ended");
    if (run.warning) {
      log.warn({ job: jobId, warning: run.warning }, "job warning");
      forward(`\n[pond: ${run.warning}]\n`);
    }
    logs.push(mask.flush());
    const result = this.forCreator(await this.resultOf(job.offer, run), job);
    log.debug({ job: jobId }, "result built");
    try {
      await this.deps.outbox.add(result);
    } catch (error) {
      // Still sent: the hub may take it now; only a restart before its ack would lose it.
      log.error({ err: error, job: jobId }, "could not save the result in the outbox; sending it anyway");
    }
    log.debug({ job: jobId }, "result saved");
    // Kept once the result is safe (a restart from here on re-sends it and never reads the job's folder
    // again), before the folder goes, and served before the hub (and so the creator) hears the job ended.
    if (result.outcome === "succeeded" && result.manifest) await this.deps.dataPlane?.retainOutputs(jobId, run.outputsDir, result.manifest);
    log.debug({ job: jobId }, "outputs kept");
    // The record's last writes land before its folder goes, and none comes after.
    await job.record.close();
    log.info({ job: jobId, outcome: result.outcome, runMs: run.runMs, ...run.ran }, "job finished");
    // The job's last output is not sent into a connection that is down, and its result goes after it:
    // the hub takes no output for a job it has a result for. While this waits, a reconnect does not
    // resend this result from the outbox (daemon.ts); past the hub's grace it goes as the outbox's.
    await this.hubConnected(job);
    logs.finish();
    const answered = this.answerTo(jobId);
    hub.send(result);
    job.resultSent = true;
    job.ended?.();
    // The cleanup (container removed, volume unmounted, a spare formatted) waits for the hub's answer: on a
    // busy host it ran beside the hub's checks of this very result and slowed them (bench:dispatch).
    await answered;
    // The spare folder this job took is made again now that its result is out, not on a timer that back-to-back
    // jobs outran (each then formatted and mounted its own /outputs on its way to start).
    this.deps.spares?.refill();
    // Safe in the outbox and sent, so the container and the folder go now, off the path to the result (a
    // restart from here on finds them and clears them); a cleanup that fails is tried again.
    // A container still being made ahead (the job ended before its start: canceled, its inputs failed) goes too.
    await this.discard(job, run.containerId);
  }

  /** Settles when the hub answers the job's result, or after ACK_WAIT_MS. */
  private answerTo(jobId: string): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.awaitingAck.delete(jobId);
        resolve();
      };
      const timer = setTimeout(done, ACK_WAIT_MS);
      this.awaitingAck.set(jobId, done);
    });
  }

  /** A result as the creator may read it: no path of this provider's in its words. */
  /** What the creator may read of a result's texts: no provider paths, no secret's value (an engine's error may quote the environment). */
  private forCreator(result: ResultMessage, job: RunningJob): ResultMessage {
    const { dataDir } = this.deps;
    const secrets = Object.values(job.secrets ?? {});
    const clean = (text: string, limit: number) => truncate(maskSecrets(withoutHostPaths(text, job.workDir, dataDir), secrets), limit);
    return {
      ...result,
      error: result.error === null ? null : clean(result.error, hubMessageLimits.resultError),
      ...(result.warning ? { warning: clean(result.warning, hubMessageLimits.resultWarning) } : {}),
    };
  }

  /** Once the hub connection is up; or after the hub's grace (past it the job is someone else's anyway), or a cancel. */
  private hubConnected(job: RunningJob): Promise<void> {
    if (this.deps.hub.connected) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        job.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, job.record.current.grace_ms);
      job.abort.signal.addEventListener("abort", done, { once: true });
      void this.nextWelcome().then(done);
    });
  }

  /** The hub's next welcome: one listener however many jobs wait for it (one each passed Node's limit of 10 and warned). */
  private nextWelcome(): Promise<void> {
    this.welcome ??= new Promise((resolve) =>
      this.deps.hub.once("welcome", () => {
        this.welcome = undefined;
        resolve();
      }),
    );
    return this.welcome;
  }

  private async guard(job: RunningJob, containerId: string): Promise<void> {
    const graceMs = job.record.current.grace_ms;
    await this.deps.watchdogs
      .guard({ jobId: job.offer.job_id, workDir: job.workDir, containerId, graceMs, timeoutS: job.offer.spec.timeout_s })
      .catch((error: unknown) => this.deps.log.error({ err: error, job: job.offer.job_id }, "could not start the container's watchdog"));
  }

  private async resultOf(offer: OfferMessage, run: JobRun): Promise<ResultMessage> {
    const { api, account, maxOutputBytes, log } = this.deps;
    try {
      return await buildResult({ api, account, domain: this.deps.domain(), maxOutputBytes, inlineOutputs: this.deps.hubTakesInline() }, offer, run);
    } catch (error) {
      log.error({ err: error, job: offer.job_id }, "could not build the result");
      return unsuccessfulResult(offer.job_id, "failed", `the provider could not report the result: ${(error as Error).message}`, run);
    }
  }
}

