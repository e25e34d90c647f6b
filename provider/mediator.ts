// Drawn as mediator: re-run a challenged job in the same sandbox and sign the
// result hash it produces. A re-run that fails here proves nothing about the
// provider, so nothing is signed and the challenge ends void. Each mediation
// has its own AbortController, so a shutdown can wait for it or stop it.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { Hex, TypedDataDomain } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { mediationTypes } from "../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type MediateMessage } from "../protocol/hubMessages.ts";
import { resolvedInputFiles } from "../protocol/jobSpec.ts";
import { MAX_OUTPUT_FILES } from "../protocol/limits.ts";
import type { HubClient } from "./connection/hubClient.ts";
import type { DockerExecutor } from "./executor/docker.ts";
import { manifestOf } from "./executor/outputs.ts";
import type { LocalCapacity } from "./localCapacity.ts";
import type { ContainerGuard } from "./watchdog/spawn.ts";
import type { DataPlane } from "./dataplane/dataPlane.ts";
import { jobWorkDir } from "./workDir.ts";

/** How long a mediation waits for free capacity before giving up (the challenge then voids). */
const MEDIATION_WAIT_MS = 5 * 60_000;
const CAPACITY_POLL_MS = 2_000;

export interface MediatorOptions {
  account: PrivateKeyAccount;
  dataDir: string;
  maxOutputBytes: number;
  hub: HubClient;
  executor: DockerExecutor;
  capacity: LocalCapacity;
  watchdogs: ContainerGuard;
  log: Logger;
  /** The hub's grace of the current connection: the re-run's watchdog stops it once the daemon is gone longer. */
  graceMs(): number;
  /** The EIP-712 domain of the current connection. */
  domain(): TypedDataDomain;
  /** Fetches the job's input_files (from the provider that kept them, else the creator, else the relay) for the re-run. */
  dataPlane?: DataPlane;
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
      const run = await executor.run({ jobId: message.job_id, spec: message.spec, gpuUuids: gpus, workDir }, { onPhase: () => undefined, onLog: () => undefined, onContainer: guard }, signal);
      if (run.outcome !== "succeeded") return log.warn({ job: message.job_id, outcome: run.outcome, error: run.error }, "the re-run did not succeed; not signing a verdict");
      const manifest = await manifestOf(run.outputsDir, { maxFiles: MAX_OUTPUT_FILES, maxTotalBytes: this.options.maxOutputBytes });
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
      await executor.dispose(workDir, containerId).catch((error: unknown) => log.error({ err: error, job: message.job_id }, "could not remove the re-run's container"));
      await rm(workDir, { recursive: true, force: true });
    }
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
