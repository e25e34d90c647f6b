// Drawn as mediator: re-run a challenged job in the same sandbox and sign the
// result hash it produces (an exact job), or judge the provider's outputs against
// the re-run's under the job's declared comparison and sign that verdict (a
// tolerant job: mediation/tolerantVerdict.ts). A re-run that fails here proves nothing about the
// provider, so nothing is signed and the challenge ends void. Each mediation
// has its own AbortController, so a shutdown can wait for it or stop it.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Hex, TypedDataDomain } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { mediationTypes, verdictTypes } from "../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type MediateMessage } from "../protocol/hubMessages.ts";
import { resolvedInputFiles } from "../protocol/jobSpec.ts";
import { hubMessageLimits, MAX_OUTPUT_FILES } from "../protocol/limits.ts";
import type { OutputManifest } from "../protocol/manifest.ts";
import type { VerifySpec } from "../protocol/verification.ts";
import type { HubClient } from "./connection/hubClient.ts";
import type { JobExecutor, RunResult } from "./executor/docker.ts";
import { maskSecrets } from "./executor/secretMask.ts";
import { openJobEgress, type EgressSettings } from "./egress/jobEgress.ts";
import { manifestOf } from "./executor/outputs.ts";
import { removeLeftovers } from "./leftovers.ts";
import type { LocalCapacity } from "./localCapacity.ts";
import type { ContainerGuard } from "./watchdog/spawn.ts";
import type { DataPlane } from "./dataplane/dataPlane.ts";
import { judgeTolerant } from "./mediation/tolerantVerdict.ts";
import { fetchCheckpoint, type RestoredCheckpoint } from "./checkpoints/checkpointRestore.ts";
import { truncate } from "./truncate.ts";
import { jobWorkDir } from "./workDir.ts";
import { registryCredentialsOf } from "./executor/privateImages.ts";

/** How long a mediation waits for free capacity before giving up (the challenge then voids). */
const MEDIATION_WAIT_MS = 5 * 60_000;
const CAPACITY_POLL_MS = 2_000;

export interface MediatorOptions {
  api: string;
  account: PrivateKeyAccount;
  dataDir: string;
  maxOutputBytes: number;
  hub: HubClient;
  executor: JobExecutor;
  capacity: LocalCapacity;
  watchdogs: ContainerGuard;
  log: Logger;
  /** The hub's grace of the current connection: the re-run's watchdog stops it once the daemon is gone longer. */
  graceMs(): number;
  /** The EIP-712 domain of the current connection. */
  domain(): TypedDataDomain;
  /** Fetches the job's input_files (from the provider that kept them, else the creator, else the relay) for the re-run. */
  dataPlane?: DataPlane;
  /** Present when this daemon offers egress: a re-run of a job with network.allow goes through its own proxy, as the job did. */
  egress?: EgressSettings;
}

interface Mediation {
  abort: AbortController;
  done: Promise<void>;
}

export class Mediator {
  private readonly active = new Map<string, Mediation>();

  constructor(private readonly options: MediatorOptions) {}

  get busy(): boolean {
    return this.active.size > 0;
  }

  /** Settles when every mediation running now has ended. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.active.values()].map((mediation) => mediation.done));
  }

  start(message: MediateMessage): void {
    const { log } = this.options;
    if (this.active.has(message.job_id)) return log.info({ job: message.job_id }, "already mediating this job");
    const abort = new AbortController();
    const done = this.mediate(message, abort.signal)
      .catch((error: unknown) => log.error({ err: error, job: message.job_id }, "mediation failed"))
      .finally(() => this.active.delete(message.job_id));
    this.active.set(message.job_id, { abort, done });
  }

  cancelAll(): void {
    for (const mediation of this.active.values()) mediation.abort.abort();
  }

  private async mediate(message: MediateMessage, signal: AbortSignal): Promise<void> {
    const { log, hub, executor, capacity } = this.options;
    const workDir = jobWorkDir(this.options.dataDir, `mediation-${message.job_id}`);
    const gpus = await this.waitForCapacity(message, signal);
    if (!gpus) return;
    const key = `mediation:${message.job_id}`;
    capacity.hold(key, message.spec.resources, gpus);
    // Known from the moment it exists, so it is removed even if the run throws.
    let containerId: string | undefined;
    try {
      log.info({ job: message.job_id }, "mediating: re-running a challenged job");
      const guard = (id: string) => {
        containerId = id;
        return this.options.watchdogs
          .guard({ jobId: message.job_id, workDir, containerId: id, graceMs: this.options.graceMs(), timeoutS: message.spec.timeout_s })
          .catch((error: unknown) => log.error({ err: error, job: message.job_id }, "could not start the re-run's watchdog"));
      };
      const inputFiles = resolvedInputFiles(message.spec);
      if (inputFiles.length > 0) {
        if (!this.options.dataPlane) return log.warn({ job: message.job_id }, "this daemon cannot fetch input files; not signing a verdict");
        await this.options.dataPlane.fetchInputsForMediation(message.job_id, inputFiles, join(workDir, "inputs"), signal);
      }
      // The challenged attempt resumed from a checkpoint: so does the re-run, judging the provider on its own work.
      const checkpoint = message.checkpoint && message.spec.checkpoint
        ? await fetchCheckpoint({ api: this.options.api, account: this.options.account, jobId: message.job_id, checkpoint: message.checkpoint, workDir, signal })
        : undefined;
      const run = await this.rerun(message, gpus, workDir, guard, signal, checkpoint);
      if (!run) return;
      if (run.outcome !== "succeeded") {
        const error = run.error && maskSecrets(run.error, [...Object.values(message.secrets ?? {}), ...(message.registry_password ? [message.registry_password] : [])]);
        return log.warn({ job: message.job_id, outcome: run.outcome, error }, "the re-run did not succeed; not signing a verdict");
      }
      const manifest = await manifestOf(run.outputsDir, { maxFiles: MAX_OUTPUT_FILES, maxTotalBytes: this.options.maxOutputBytes });
      if (message.spec.verify?.mode === "tolerant") return await this.judge(message, message.spec.verify, run.outputsDir, manifest, workDir, signal);
      const signature = await this.options.account.signTypedData({
        domain: this.options.domain(),
        types: mediationTypes,
        primaryType: "Mediation",
        message: { jobId: message.chain_job_id as Hex, resultHash: manifest.result_hash as Hex },
      });
      hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.mediation", job_id: message.job_id, result_hash: manifest.result_hash, signature });
      log.info({ job: message.job_id, resultHash: manifest.result_hash }, "mediation verdict sent");
    } finally {
      capacity.release(key);
      // Its volume unmounted before the folder goes (rm alone emptied the mounted volume and failed on it), with retries.
      await removeLeftovers(executor, log, { jobId: message.job_id, workDir, containerId });
    }
  }

  /**
   * The job again, in the same sandbox; behind an egress proxy of its own when the spec allows network egress
   * (undefined, and no verdict, when this daemon offers none: the re-run could not reach what the job did).
   */
  private async rerun(message: MediateMessage, gpuUuids: string[], workDir: string, onContainer: (id: string) => Promise<void> | void, signal: AbortSignal, checkpoint?: RestoredCheckpoint): Promise<RunResult | undefined> {
    const { executor, egress, log } = this.options;
    const hooks = { onPhase: () => undefined, onLog: () => undefined, onContainer };
    const credentials = registryCredentialsOf(message.spec, message.registry_password);
    const request = {
      jobId: message.job_id,
      spec: message.spec,
      gpuUuids,
      workDir,
      ...(message.secrets ? { secrets: message.secrets } : {}),
      ...(credentials ? { registryCredentials: credentials } : {}),
      ...(checkpoint ? { checkpoint } : {}),
    };
    const { network } = message.spec;
    if (!network) return executor.run(request, hooks, signal);
    if (!egress) {
      log.warn({ job: message.job_id }, "the job reaches the network and this daemon offers no egress (--egress); not re-running it");
      return undefined;
    }
    // The proxy listens in the re-run's folder before the container (and its folder's volume) is made.
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    const stop = new AbortController();
    const proxy = await openJobEgress({ jobId: message.job_id, network, workDir }, egress, log, { onExceeded: () => stop.abort() });
    try {
      return await executor.run({ ...request, egress: proxy }, hooks, AbortSignal.any([signal, stop.signal]));
    } finally {
      await proxy.close();
    }
  }

  /** A tolerant job: the provider's outputs compared with the re-run's under the declared rules, and the signed verdict. */
  private async judge(message: MediateMessage, verify: VerifySpec, rerunDir: string, rerun: OutputManifest, workDir: string, signal: AbortSignal): Promise<void> {
    const { log, hub, dataPlane } = this.options;
    if (!dataPlane) return log.warn({ job: message.job_id }, "this daemon cannot fetch the provider's outputs; not signing a verdict");
    const judgement = await judgeTolerant({
      verify,
      providerOutputs: message.outputs,
      rerunDir,
      rerunFiles: rerun.files,
      scratchDir: join(workDir, "provider-outputs"),
      fetchProviderFiles: (files, dir) => dataPlane.fetchOutputsForJudging(message.job_id, files, dir, signal),
    });
    if (!judgement.decided) return log.warn({ job: message.job_id, why: judgement.why }, "could not judge the provider's outputs; not signing a verdict");
    const signature = await this.options.account.signTypedData({
      domain: this.options.domain(),
      types: verdictTypes,
      primaryType: "Verdict",
      message: { jobId: message.chain_job_id as Hex, resultHash: message.outputs.result_hash as Hex, rerunHash: rerun.result_hash as Hex, upheld: judgement.upheld },
    });
    const detail = truncate(judgement.detail, hubMessageLimits.statusDetail);
    hub.send({ v: HUB_PROTOCOL_VERSION, type: "job.verdict", job_id: message.job_id, rerun_hash: rerun.result_hash, upheld: judgement.upheld, detail, signature });
    log.info({ job: message.job_id, upheld: judgement.upheld, detail }, "mediation verdict sent");
  }

  /** Free GPUs for the re-run once the spec fits, or undefined when it did not in time (or the mediation was stopped). */
  private async waitForCapacity(message: MediateMessage, signal: AbortSignal): Promise<string[] | undefined> {
    const { capacity, log } = this.options;
    const deadline = Date.now() + MEDIATION_WAIT_MS;
    for (;;) {
      if (signal.aborted) {
        log.info({ job: message.job_id }, "mediation stopped before it ran");
        return undefined;
      }
      const gpus = capacity.freeGpusFor(message.spec.resources);
      if (gpus && !capacity.misfit(message.spec.resources, gpus)) return gpus;
      if (Date.now() > deadline) {
        log.warn({ job: message.job_id }, "no capacity to mediate in time; the challenge will expire");
        return undefined;
      }
      await abortableDelay(CAPACITY_POLL_MS, signal);
    }
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
