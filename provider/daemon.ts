// The provider daemon: takes offers that fit, runs them in Docker, and keeps
// going through disconnects (running containers carry on; results wait in the
// outbox until the hub acknowledges them). Results are built in results.ts,
// mediations run in mediator.ts.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { zeroAddress, type Address, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { jobAcceptanceTypes, pondDomain } from "../protocol/eip712.ts";
import {
  HUB_PROTOCOL_VERSION,
  type OfferMessage,
  type ProviderPricing,
  type ProviderResources,
  type ResultMessage,
} from "../protocol/hubMessages.ts";
import { hubMessageLimits } from "../protocol/limits.ts";
import type { HubClient, Welcome } from "./connection/hubClient.ts";
import type { DockerExecutor, RunResult } from "./executor/docker.ts";
import { LogForwarder } from "./executor/logForwarder.ts";
import { LocalCapacity } from "./localCapacity.ts";
import { Mediator } from "./mediator.ts";
import type { ResultOutbox } from "./outbox.ts";
import { buildResult, unsuccessfulResult } from "./results.ts";
import { truncate } from "./truncate.ts";
import { jobWorkDir } from "./workDir.ts";

/** How often a drain looks again for work that has ended (or was started meanwhile). */
const DRAIN_POLL_MS = 1_000;

interface ActiveJob {
  offer: OfferMessage;
  workDir: string;
  abort: AbortController;
  phase: "accepted" | "pulling" | "running" | "finishing";
  done?: Promise<void>;
}

export interface DaemonOptions {
  api: string;
  account: PrivateKeyAccount;
  resources: ProviderResources;
  pricing: ProviderPricing;
  dataDir: string;
  maxOutputBytes: number;
  hub: HubClient;
  executor: DockerExecutor;
  outbox: ResultOutbox;
  log: Logger;
}

export class ProviderDaemon {
  private readonly jobs = new Map<string, ActiveJob>();
  private readonly capacity: LocalCapacity;
  private readonly mediator: Mediator;
  private domain = pondDomain(0, zeroAddress);
  private draining = false;

  constructor(private readonly options: DaemonOptions) {
    this.capacity = new LocalCapacity(options.resources);
    this.mediator = new Mediator({
      account: options.account,
      dataDir: options.dataDir,
      maxOutputBytes: options.maxOutputBytes,
      hub: options.hub,
      executor: options.executor,
      capacity: this.capacity,
      log: options.log,
      domain: () => this.domain,
    });
    const failed = (what: string, jobId?: string) => (error: unknown) => this.options.log.error({ err: error, ...(jobId ? { job: jobId } : {}) }, `${what} failed`);
    options.hub.on("welcome", (welcome) => void this.onWelcome(welcome).catch(failed("greeting the hub")));
    options.hub.on("message", (message) => {
      switch (message.type) {
        case "job.offer":
          return void this.onOffer(message).catch(failed("handling an offer", message.job_id));
        case "job.start":
          return this.onStart(message.job_id);
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

  /** Jobs or mediations still in hand. */
  get busy(): boolean {
    return this.jobs.size > 0 || this.mediator.busy;
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
      const running = [...this.jobs.values()].map((job) => job.done);
      await Promise.race([Promise.allSettled([...running, this.mediator.settled()]), delay(Math.min(left, DRAIN_POLL_MS))]);
    }
    return true;
  }

  /** Cancels every job and mediation (second signal, or a drain that ran out of time). */
  cancelAll(): void {
    for (const [jobId, job] of this.jobs) {
      // Accepted but never started: nothing runs, so there is nothing to stop.
      if (!job.done) this.forget(jobId);
      else job.abort.abort();
    }
    this.mediator.cancelAll();
  }

  private async onWelcome(welcome: Welcome): Promise<void> {
    this.domain = pondDomain(welcome.chain_id, welcome.verifying_contract as Address);
    const { hub, resources, pricing, log, outbox } = this.options;
    // A job that ended while we were away is no longer running, but its result is
    // still to come: report it as running, or the hub would count it lost and requeue it.
    const pending = outbox.pending();
    const running = [...new Set([...this.jobs.keys(), ...pending.map((result) => result.job_id)])];
    hub.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources, pricing, running, agent: "pond-provider/0.1" });
    // What happened while we were away: phases the hub may have missed, then results.
    for (const [jobId, job] of this.jobs) {
      if (job.phase === "running") hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase: "running" });
    }
    for (const result of pending) hub.send(result);
    log.info({ address: this.options.account.address, jobs: this.jobs.size, pendingResults: pending.length }, "connected to the hub");
  }

  private async onOffer(offer: OfferMessage): Promise<void> {
    const { hub, log } = this.options;
    const decline = (reason: string) => {
      log.info({ job: offer.job_id, reason }, "declining an offer");
      hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: offer.job_id, reason: truncate(reason, hubMessageLimits.declineReason) });
    };
    if (this.draining) return decline("the provider is shutting down");
    if (this.jobs.has(offer.job_id)) return decline("already running this job");
    if (offer.expires_at < Date.now()) return;
    const misfit = this.capacity.misfit(offer.spec.resources, offer.gpu_uuids);
    if (misfit) return decline(misfit);

    log.info({ job: offer.job_id, image: offer.spec.image, maxAmountWei: offer.max_amount_wei }, "accepting an offer");
    this.capacity.hold(offer.job_id, offer.spec.resources, offer.gpu_uuids);
    // From here on capacity is held: any failure must give it back and tell the hub.
    try {
      const workDir = jobWorkDir(this.options.dataDir, offer.job_id);
      this.jobs.set(offer.job_id, { offer, workDir, abort: new AbortController(), phase: "accepted" });
      const signature = await this.options.account.signTypedData({
        domain: this.domain,
        types: jobAcceptanceTypes,
        primaryType: "JobAcceptance",
        message: { jobId: offer.chain_job_id as Hex, maxAmount: BigInt(offer.max_amount_wei) },
      });
      if (!hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature })) this.forget(offer.job_id);
    } catch (error) {
      this.forget(offer.job_id);
      log.error({ err: error, job: offer.job_id }, "could not accept the offer");
      decline(`the provider could not accept the job: ${(error as Error).message}`);
    }
  }

  private onStart(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job || job.done) return;
    this.options.log.info({ job: jobId }, "starting the job");
    job.done = this.run(jobId, job).catch((error) => this.options.log.error({ err: error, job: jobId }, "running the job failed"));
  }

  private onCancel(jobId: string, reason: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    this.options.log.info({ job: jobId, reason }, "job canceled by the hub");
    if (!job.done) this.forget(jobId);
    else job.abort.abort();
  }

  private async onResultAck(jobId: string, accepted: boolean, error?: string): Promise<void> {
    if (!(await this.options.outbox.remove(jobId))) return;
    if (accepted) this.options.log.info({ job: jobId }, "result accepted");
    else this.options.log.warn({ job: jobId, error }, "result refused by the hub");
  }

  private forget(jobId: string): void {
    this.jobs.delete(jobId);
    this.capacity.release(jobId);
  }

  private async run(jobId: string, job: ActiveJob): Promise<void> {
    const { hub, executor, log } = this.options;
    const { workDir } = job;
    const logs = new LogForwarder({ send: (data) => hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data }) });
    let run: RunResult;
    try {
      run = await executor.run(
        { jobId, spec: job.offer.spec, gpuUuids: job.offer.gpu_uuids, workDir },
        {
          onPhase: (phase, detail) => {
            job.phase = phase;
            log.info({ job: jobId, phase, detail }, "job phase");
            hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase, ...(detail ? { detail: truncate(detail, hubMessageLimits.statusDetail) } : {}) });
          },
          onLog: (chunk) => logs.push(chunk),
        },
        job.abort.signal,
      );
    } catch (error) {
      run = { outcome: "failed", exitCode: null, error: `the provider could not run the job: ${(error as Error).message}`, pullMs: 0, runMs: 0, outputsDir: join(workDir, "outputs") };
    }
    job.phase = "finishing";
    logs.finish();
    try {
      const result = await this.resultOf(job.offer, run);
      try {
        await this.options.outbox.add(result);
      } catch (error) {
        // Still sent: the hub may take it now; only a restart before its ack would lose it.
        log.error({ err: error, job: jobId }, "could not save the result in the outbox; sending it anyway");
      }
      hub.send(result);
      log.info({ job: jobId, outcome: result.outcome }, "job finished");
    } finally {
      this.forget(jobId);
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private async resultOf(offer: OfferMessage, run: RunResult): Promise<ResultMessage> {
    const { api, account, maxOutputBytes, log } = this.options;
    try {
      return await buildResult({ api, account, domain: this.domain, maxOutputBytes }, offer, run);
    } catch (error) {
      log.error({ err: error, job: offer.job_id }, "could not build the result");
      return unsuccessfulResult(offer.job_id, "failed", `the provider could not report the result: ${(error as Error).message}`, run);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
