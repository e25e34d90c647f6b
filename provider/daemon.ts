// The provider daemon: takes offers that fit, runs them in Docker (jobRunner.ts),
// and keeps going through disconnects and restarts: running containers carry
// on, a restarted daemon re-adopts them (recovery/), and results wait in the
// outbox until the hub acknowledges them. Mediations run in mediator.ts.
import { mkdir } from "node:fs/promises";
import type { Logger } from "pino";
import { zeroAddress, type Address, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { jobAcceptanceTypes, pondDomain } from "../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type OfferMessage, type ProviderPricing, type ProviderResources, type StartMessage } from "../protocol/hubMessages.ts";
import { hubMessageLimits } from "../protocol/limits.ts";
import type { HubClient, Welcome } from "./connection/hubClient.ts";
import type { DataPlane } from "./dataplane/dataPlane.ts";
import type { JobExecutor } from "./executor/docker.ts";
import { JobRecordFile, type JobRecord } from "./jobRecord.ts";
import { JobRunner, type RunningJob } from "./jobRunner.ts";
import { LocalCapacity } from "./localCapacity.ts";
import { Mediator } from "./mediator.ts";
import type { ResultOutbox } from "./outbox.ts";
import type { EgressSettings } from "./egress/jobEgress.ts";
import type { GpuSampler } from "./resources/gpuSampler.ts";
import type { SpareJobFolders } from "./executor/spareJobFolders.ts";
import type { Adoption } from "./recovery/plan.ts";
import { truncate } from "./truncate.ts";
import type { ContainerGuard } from "./watchdog/spawn.ts";
import type { WarmAdvertiser } from "./warmAdvertiser.ts";
import { jobWorkDir } from "./workDir.ts";

/** How often a drain looks again for work that has ended (or was started meanwhile). */
const DRAIN_POLL_MS = 1_000;
/** The hub's grace until its welcome says otherwise (the hub's own default). */
const DEFAULT_GRACE_MS = 30_000;

interface ActiveJob extends RunningJob {
  done?: Promise<void>;
  /** The cleanup of a job dropped before its start: a later one waits for it (two umounts of one volume race). */
  cleanup?: Promise<void>;
}

export interface DaemonOptions {
  api: string;
  account: PrivateKeyAccount;
  resources: ProviderResources;
  pricing: ProviderPricing;
  dataDir: string;
  maxOutputBytes: number;
  hub: HubClient;
  executor: JobExecutor;
  outbox: ResultOutbox;
  watchdogs: ContainerGuard;
  log: Logger;
  dataPlane?: DataPlane;
  /** What is warm here (images, cached inputs), advertised so the matcher sends jobs where their bytes are. */
  warm?: WarmAdvertiser;
  /** Job folders made ahead with their /outputs volume mounted. */
  spares?: SpareJobFolders;
  /** Present when this provider offers egress (--egress, and the host can): the limits of every job's proxy. */
  egress?: EgressSettings;
  /** Present when this host has GPUs: each job's GPU figures go into its result. */
  gpuSampler?: GpuSampler;
}

export class ProviderDaemon {
  private readonly jobs = new Map<string, ActiveJob>();
  private readonly cleanups = new Set<Promise<void>>();
  private readonly capacity: LocalCapacity;
  private readonly mediator: Mediator;
  private readonly runner: JobRunner;
  private domain = pondDomain(0, zeroAddress);
  /** Whether the hub takes small outputs inline in a result (its welcome says): a hub older than that drops them. */
  private hubTakesInline = false;
  private graceMs = DEFAULT_GRACE_MS;
  private draining = false;

  constructor(private readonly options: DaemonOptions) {
    this.capacity = new LocalCapacity(options.resources);
    this.mediator = new Mediator({
      api: options.api,
      account: options.account,
      dataDir: options.dataDir,
      maxOutputBytes: options.maxOutputBytes,
      hub: options.hub,
      executor: options.executor,
      capacity: this.capacity,
      watchdogs: options.watchdogs,
      log: options.log,
      domain: () => this.domain,
      graceMs: () => this.graceMs,
      ...(options.dataPlane ? { dataPlane: options.dataPlane } : {}),
      ...(options.egress ? { egress: options.egress } : {}),
    });
    this.runner = new JobRunner({ ...options, domain: () => this.domain, hubTakesInline: () => this.hubTakesInline });
    const failed = (what: string, jobId?: string) => (error: unknown) => this.options.log.error({ err: error, ...(jobId ? { job: jobId } : {}) }, `${what} failed`);
    options.hub.on("welcome", (welcome) => void this.onWelcome(welcome).catch(failed("greeting the hub")));
    options.hub.on("message", (message) => {
      switch (message.type) {
        case "job.offer":
          return void this.onOffer(message).catch(failed("handling an offer", message.job_id));
        case "job.start":
          return this.onStart(message.job_id, "the hub's start", message);
        case "job.cancel":
          return this.onCancel(message.job_id, message.reason);
        case "job.result.ack":
          return void this.onResultAck(message.job_id, message.accepted, message.error).catch(failed("handling a result acknowledgement", message.job_id));
        case "job.mediate":
          if (this.draining) return this.options.log.warn({ job: message.job_id }, "shutting down: not mediating; the challenge will void");
          return this.mediator.start(message);
      }
    });
  }

  get activeJobs(): string[] {
    return [...this.jobs.keys()];
  }

  /** Jobs, mediations or cleanups of dropped jobs still in hand. */
  get busy(): boolean {
    return this.jobs.size > 0 || this.mediator.busy || this.cleanups.size > 0;
  }

  /**
   * What an earlier run of this daemon left (recovery/plan.ts), before the hub
   * is told what runs here: adopted containers are seen through, accepted jobs
   * that never started wait for the hub's start or cancel.
   */
  carryOn(adopted: readonly Adoption[], awaitingStart: ReadonlyArray<{ record: JobRecord; workDir: string }>): void {
    for (const { record, workDir, containerId } of adopted) {
      const job = this.hold(record, workDir, "running");
      job.done = this.runner.resume(job, containerId).catch((error) => this.options.log.error({ err: error, job: record.offer.job_id }, "seeing an adopted job through failed"));
      void job.done.finally(() => this.forget(record.offer.job_id));
    }
    for (const { record, workDir } of awaitingStart) {
      // Rewritten without the container that never started (plan.ts dropped it).
      const job = this.hold(record, workDir, "accepted");
      job.record.update({}).catch((error: unknown) => this.options.log.warn({ err: error, job: record.offer.job_id }, "could not rewrite the job record"));
    }
  }

  /**
   * Stops taking work and waits until nothing is left: jobs (including any the
   * hub starts meanwhile) and mediations. True when idle, false when the timeout passed first.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const deadline = Date.now() + timeoutMs;
    while (this.busy) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      // Wait for what runs now, but look again at least every DRAIN_POLL_MS: work started since is waited for too.
      // Only what is under way: an accepted job not yet started has no `done`, and waiting on nothing
      // would settle at once and spin this loop, starving the hub's start and every timer.
      const underWay = [...[...this.jobs.values()].flatMap((job) => (job.done ? [job.done] : [])), ...this.cleanups, ...(this.mediator.busy ? [this.mediator.settled()] : [])];
      const poll = delay(Math.min(left, DRAIN_POLL_MS));
      await (underWay.length > 0 ? Promise.race([Promise.allSettled(underWay), poll]) : poll);
    }
    return true;
  }

  /** Cancels every job and mediation (second signal, or a drain that ran out of time). */
  cancelAll(): void {
    for (const [jobId, job] of this.jobs) {
      // Accepted but never started: nothing runs, so there is nothing to stop.
      if (!job.done) this.drop(jobId);
      else job.abort.abort();
    }
    this.mediator.cancelAll();
  }

  private async onWelcome(welcome: Welcome): Promise<void> {
    this.domain = pondDomain(welcome.chain_id, welcome.verifying_contract as Address);
    this.hubTakesInline = welcome.inline_outputs === true;
    this.graceMs = welcome.grace_ms ?? DEFAULT_GRACE_MS;
    const { hub, resources, pricing, log, outbox } = this.options;
    const warm = this.options.warm?.forAdvertise();
    // A job that ended while we were away is no longer running, but its result is
    // still to come: report it as running, or the hub would count it lost and requeue it.
    const pending = outbox.pending();
    const running = [...new Set([...this.jobs.keys(), ...pending.map((result) => result.job_id)])];
    hub.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources, pricing, running, agent: "pond-provider/0.1", ...(warm ? { warm } : {}) });
    // What happened while we were away: phases the hub may have missed, then results.
    for (const [jobId, job] of this.jobs) {
      if (job.phase === "running") hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase: "running" });
    }
    // A job still being finished here sends its own result, after its last output (jobRunner.ts); once it has,
    // the result goes again from here, since the connection that carried it may have been cut before the hub read it.
    for (const result of pending) {
      const held = this.jobs.get(result.job_id);
      if (!held || held.resultSent) hub.send(result);
    }
    log.info({ address: this.options.account.address, jobs: this.jobs.size, pendingResults: pending.length }, "connected to the hub");
  }

  private async onOffer(offer: OfferMessage): Promise<void> {
    const { hub, log } = this.options;
    // Busy: declined for now (the room still in use here), so the hub may offer it again later.
    const decline = (reason: string, busy = false) => {
      log.info({ job: offer.job_id, reason, busy }, "declining an offer");
      hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: offer.job_id, reason: truncate(reason, hubMessageLimits.declineReason), ...(busy ? { busy } : {}) });
    };
    // Going away for now (a restart drains first): it may take jobs again once it is back.
    if (this.draining) return decline("the provider is shutting down", true);
    // Still being finished here (a requeue that overtook its end): it may run here once that is done.
    if (this.jobs.has(offer.job_id)) return decline("already running this job", true);
    if (offer.expires_at < Date.now()) return;
    const misfit = this.capacity.misfit(offer.spec.resources, offer.gpu_uuids);
    if (misfit) return decline(misfit.reason, misfit.busy);
    // The matcher sends such a job only where egress was advertised; this guards a hub that did not.
    if (offer.spec.network && !this.options.egress) return decline("this provider does not offer network egress, which the job's network.allow needs");
    // Put back in its /outputs before it starts: one bigger than this provider's volume would fail the job, not move it on.
    if (offer.checkpoint && offer.checkpoint.bytes > this.options.maxOutputBytes) return decline(`the job's checkpoint holds ${offer.checkpoint.bytes} bytes, more than the ${this.options.maxOutputBytes} this provider keeps for a job's outputs`);

    log.info({ job: offer.job_id, image: offer.spec.image, maxAmountWei: offer.max_amount_wei }, "accepting an offer");
    // From here on capacity is held: any failure must give it back and tell the hub.
    const job = this.hold({ v: 1, offer, accepted_at: Date.now(), grace_ms: this.graceMs }, jobWorkDir(this.options.dataDir, offer.job_id), "accepted");
    const workDir = job.workDir;
    // Canceled while the accept was being made: drop() ran, maybe before the folder was whole.
    const canceled = () => this.jobs.get(offer.job_id) !== job;
    try {
      // On disk before the hub hears yes: a daemon that restarts from here knows the job. A spare folder
      // comes with its /outputs volume mounted already (executor/spareJobFolders.ts).
      if (!(await this.options.spares?.takeInto(workDir))) await mkdir(workDir, { recursive: true, mode: 0o700 });
      await job.record.update({});
      const signature = await this.options.account.signTypedData({
        domain: this.domain,
        types: jobAcceptanceTypes,
        primaryType: "JobAcceptance",
        message: { jobId: offer.chain_job_id as Hex, maxAmount: BigInt(offer.max_amount_wei) },
      });
      // What was made since the drop's cleanup (the folder, a spare's volume) goes too, and the hub hears no yes.
      if (canceled()) return this.cleanUp(job);
      if (!hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature })) return this.drop(offer.job_id);
      this.runner.prepare(job);
      // With its container made ahead nothing in it waits on the hub's word (no pull, no egress network), so it
      // starts now rather than a round trip later, at the hub's start. The hub takes this job's messages in the
      // order sent (the accept first); should it refuse the accept (the job canceled meanwhile), its cancel stops it.
      void job.prepared?.then((made) => {
        if (made && !canceled()) this.onStart(offer.job_id, "its container made ahead");
      });
    } catch (error) {
      if (canceled()) return this.cleanUp(job);
      this.drop(offer.job_id);
      log.error({ err: error, job: offer.job_id }, "could not accept the offer");
      // A failure here (its disk, its key) says nothing about the job: asked again after a while, not never.
      decline(`the provider could not accept the job: ${(error as Error).message}`, true);
    }
  }

  private onStart(jobId: string, on = "the hub's start", start?: Pick<StartMessage, "secrets" | "registry_password">): void {
    const job = this.jobs.get(jobId);
    if (!job || job.done) return;
    if (start?.secrets) job.secrets = start.secrets;
    if (start?.registry_password !== undefined) job.registryPassword = start.registry_password;
    this.options.log.info({ job: jobId, on }, "starting the job");
    job.done = this.runner.run(job).catch((error) => this.options.log.error({ err: error, job: jobId }, "running the job failed"));
    void job.done.finally(() => this.forget(jobId));
  }

  private onCancel(jobId: string, reason: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.options.log.info({ job: jobId, reason }, "job canceled by the hub");
    if (!job.done) this.drop(jobId);
    else job.abort.abort();
  }

  private async onResultAck(jobId: string, accepted: boolean, error?: string): Promise<void> {
    if (!(await this.options.outbox.remove(jobId))) return;
    if (accepted) this.options.log.info({ job: jobId }, "result accepted");
    else this.options.log.warn({ job: jobId, error }, "result refused by the hub");
  }

  private hold(record: JobRecord, workDir: string, phase: ActiveJob["phase"]): ActiveJob {
    const { offer } = record;
    this.capacity.hold(offer.job_id, offer.spec.resources, offer.gpu_uuids);
    const job: ActiveJob = { offer, workDir, record: new JobRecordFile(workDir, record), abort: new AbortController(), phase, ended: () => this.capacity.release(offer.job_id) };
    this.jobs.set(offer.job_id, job);
    return job;
  }

  /** A job that ended here: its capacity is free again. */
  private forget(jobId: string): void {
    this.jobs.delete(jobId);
    this.capacity.release(jobId);
  }

  /**
   * A job that never started (canceled, or its accept failed): forgotten, and what it had removed: a container made
   * ahead, the /outputs volume its folder came with (a spare's is mounted), the folder.
   */
  private drop(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.forget(jobId);
    // Aborted, so a container not yet being made ahead is not made.
    job.abort.abort();
    this.cleanUp(job);
  }

  /** A dropped job's cleanup, after any before it; a drain waits for it: a shutdown must not cut an unmount short. */
  private cleanUp(job: ActiveJob): void {
    const cleanup = (job.cleanup ?? Promise.resolve()).then(() => this.runner.discard(job));
    job.cleanup = cleanup;
    this.cleanups.add(cleanup);
    void cleanup.finally(() => this.cleanups.delete(cleanup));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
