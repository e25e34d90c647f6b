// The provider daemon: takes offers that fit, runs them in Docker, uploads and
// signs results, and keeps going through disconnects (running containers carry
// on; results wait in the outbox until the hub acknowledges them).
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { zeroAddress, type Address, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { jobAcceptanceTypes, jobResultTypes, mediationTypes, pondDomain } from "../protocol/eip712.ts";
import {
  HUB_PROTOCOL_VERSION,
  type MediateMessage,
  type OfferMessage,
  type ProviderPricing,
  type ProviderResources,
  type ResultMessage,
} from "../protocol/hubMessages.ts";
import type { OutputManifest } from "../protocol/manifest.ts";
import { claimAmountWei } from "./billing.ts";
import type { HubClient, Welcome } from "./connection/hubClient.ts";
import type { DockerExecutor, RunResult } from "./executor/docker.ts";
import { LogForwarder } from "./executor/logForwarder.ts";
import { manifestOf } from "./executor/outputs.ts";
import { LocalCapacity } from "./localCapacity.ts";
import type { ResultOutbox } from "./outbox.ts";
import { uploadOutputWithRetry } from "./uploads.ts";

/** How long a mediation waits for free capacity before giving up (the challenge then voids). */
const MEDIATION_WAIT_MS = 5 * 60_000;

interface ActiveJob {
  offer: OfferMessage;
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
  private domain = pondDomain(0, zeroAddress);
  private draining = false;

  constructor(private readonly options: DaemonOptions) {
    this.capacity = new LocalCapacity(options.resources);
    options.hub.on("welcome", (welcome) => void this.onWelcome(welcome));
    options.hub.on("message", (message) => {
      switch (message.type) {
        case "job.offer":
          return void this.onOffer(message).catch((error) => this.options.log.error({ err: error, job: message.job_id }, "handling an offer failed"));
        case "job.start":
          return this.onStart(message.job_id);
        case "job.cancel":
          return this.onCancel(message.job_id, message.reason);
        case "job.result.ack":
          return void this.onResultAck(message.job_id, message.accepted, message.error);
        case "job.mediate":
          return void this.mediate(message).catch((error) => this.options.log.error({ err: error, job: message.job_id }, "mediation failed"));
      }
    });
  }

  get activeJobs(): string[] {
    return [...this.jobs.keys()];
  }

  /** Stops taking work; resolves when running jobs have finished (or the timeout passes). */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const running = [...this.jobs.values()].map((job) => job.done).filter((done): done is Promise<void> => done !== undefined);
    await Promise.race([Promise.allSettled(running), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }

  /** Cancels every job (second signal, or a forced stop). */
  cancelAll(): void {
    for (const job of this.jobs.values()) job.abort.abort();
  }

  private async onWelcome(welcome: Welcome): Promise<void> {
    this.domain = pondDomain(welcome.chain_id, welcome.verifying_contract as Address);
    const { hub, resources, pricing, log, outbox } = this.options;
    hub.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources, pricing, running: [...this.jobs.keys()], agent: "pond-provider/0.1" });
    // What happened while we were away: phases the hub may have missed, then results.
    for (const [jobId, job] of this.jobs) {
      if (job.phase === "running") hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase: "running" });
    }
    for (const result of outbox.pending()) hub.send(result);
    log.info({ address: this.options.account.address, jobs: this.jobs.size, pendingResults: outbox.pending().length }, "connected to the hub");
  }

  private async onOffer(offer: OfferMessage): Promise<void> {
    const { hub, log } = this.options;
    const decline = (reason: string) => {
      log.info({ job: offer.job_id, reason }, "declining an offer");
      hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: offer.job_id, reason });
    };
    if (this.draining) return decline("the provider is shutting down");
    if (this.jobs.has(offer.job_id)) return decline("already running this job");
    if (offer.expires_at < Date.now()) return;
    const misfit = this.capacity.misfit(offer.spec.resources, offer.gpu_uuids);
    if (misfit) return decline(misfit);

    log.info({ job: offer.job_id, image: offer.spec.image, maxAmountWei: offer.max_amount_wei }, "accepting an offer");
    this.capacity.hold(offer.job_id, offer.spec.resources, offer.gpu_uuids);
    this.jobs.set(offer.job_id, { offer, abort: new AbortController(), phase: "accepted" });
    const signature = await this.options.account.signTypedData({
      domain: this.domain,
      types: jobAcceptanceTypes,
      primaryType: "JobAcceptance",
      message: { jobId: offer.chain_job_id as Hex, maxAmount: BigInt(offer.max_amount_wei) },
    });
    if (!hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature })) this.forget(offer.job_id);
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
    const workDir = join(this.options.dataDir, "jobs", jobId);
    const logs = new LogForwarder({ send: (data) => hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data }) });
    let run: RunResult;
    try {
      run = await executor.run(
        { jobId, spec: job.offer.spec, gpuUuids: job.offer.gpu_uuids, workDir },
        {
          onPhase: (phase, detail) => {
            job.phase = phase;
            log.info({ job: jobId, phase, detail }, "job phase");
            hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase, ...(detail ? { detail } : {}) });
          },
          onLog: (chunk) => logs.push(chunk),
        },
        job.abort.signal,
      );
    } catch (error) {
      run = { outcome: "failed", exitCode: null, error: `the provider could not run the job: ${(error as Error).message}`, pullMs: 0, runMs: 0, outputsDir: join(workDir, "outputs") };
    }
    job.phase = "finishing";
    logs.flush();
    try {
      const result = await this.buildResult(jobId, job.offer, run);
      await this.options.outbox.add(result);
      hub.send(result);
      log.info({ job: jobId, outcome: result.outcome }, "job finished");
    } finally {
      this.forget(jobId);
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /**
   * Drawn as mediator: re-run the challenged job in the same sandbox and sign
   * the result hash it produces. A re-run that fails here proves nothing about
   * the provider, so nothing is signed and the challenge ends void.
   */
  private async mediate(message: MediateMessage): Promise<void> {
    const { log, hub, executor } = this.options;
    const key = `mediation:${message.job_id}`;
    const deadline = Date.now() + MEDIATION_WAIT_MS;
    let gpus = this.capacity.freeGpusFor(message.spec.resources);
    while (!gpus || this.capacity.misfit(message.spec.resources, gpus)) {
      if (Date.now() > deadline) return log.warn({ job: message.job_id }, "no capacity to mediate in time; the challenge will expire");
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      gpus = this.capacity.freeGpusFor(message.spec.resources);
    }
    this.capacity.hold(key, message.spec.resources, gpus);
    const workDir = join(this.options.dataDir, "jobs", `mediation-${message.job_id}`);
    try {
      log.info({ job: message.job_id }, "mediating: re-running a challenged job");
      const run = await executor.run({ jobId: message.job_id, spec: message.spec, gpuUuids: gpus, workDir }, { onPhase: () => undefined, onLog: () => undefined }, new AbortController().signal);
      if (run.outcome !== "succeeded") return log.warn({ job: message.job_id, outcome: run.outcome, error: run.error }, "the re-run did not succeed; not signing a verdict");
      const manifest = await manifestOf(run.outputsDir, { maxFiles: 10_000, maxTotalBytes: this.options.maxOutputBytes });
      const signature = await this.options.account.signTypedData({
        domain: this.domain,
        types: mediationTypes,
        primaryType: "Mediation",
        message: { jobId: message.chain_job_id as Hex, resultHash: manifest.result_hash as Hex },
      });
      hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.mediation", job_id: message.job_id, result_hash: manifest.result_hash, signature });
      log.info({ job: message.job_id, resultHash: manifest.result_hash }, "mediation verdict sent");
    } finally {
      this.capacity.release(key);
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** Uploads outputs and signs the claim for a succeeded job; a failure to do so fails the job, saying why. */
  private async buildResult(jobId: string, offer: OfferMessage, run: RunResult): Promise<ResultMessage> {
    const base = {
      v: HUB_PROTOCOL_VERSION,
      type: "job.result",
      job_id: jobId,
      exit_code: run.exitCode,
      metrics: { pull_ms: run.pullMs, run_ms: run.runMs },
    } as const;
    if (run.outcome !== "succeeded") {
      return { ...base, outcome: run.outcome, error: run.error, manifest: null, amount_wei: "0", signature: null };
    }
    let manifest: OutputManifest;
    try {
      manifest = await manifestOf(run.outputsDir, { maxFiles: 10_000, maxTotalBytes: this.options.maxOutputBytes });
      for (const file of manifest.files) {
        await uploadOutputWithRetry({ api: this.options.api, account: this.options.account, jobId, path: file.path, file: join(run.outputsDir, file.path), sha256: file.sha256, size: file.size });
      }
    } catch (error) {
      return { ...base, outcome: "failed", error: `the outputs could not be delivered: ${(error as Error).message}`, manifest: null, amount_wei: "0", signature: null };
    }
    const amount = claimAmountWei(BigInt(offer.rate_wei_per_second), run.runMs, BigInt(offer.max_amount_wei));
    const signature = await this.options.account.signTypedData({
      domain: this.domain,
      types: jobResultTypes,
      primaryType: "JobResult",
      message: { jobId: offer.chain_job_id as Hex, resultHash: manifest.result_hash as Hex, amount },
    });
    return { ...base, outcome: "succeeded", error: null, manifest, amount_wei: amount.toString(), signature };
  }
}
