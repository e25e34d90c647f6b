// Stand-ins for the daemon's tests (daemon.test.ts, daemonJobEnd.test.ts): a hub
// and an executor that run nothing, watchdogs that start no process, and the
// daemon wired to them, with its log kept for the test to read.
import { EventEmitter } from "node:events";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach } from "vitest";
import type { OfferMessage, ProviderMessage, ResultMessage } from "../../protocol/hubMessages.ts";
import type { HubClient, HubClientEvents } from "../../provider/connection/hubClient.ts";
import type { PreparedContainer, ResumeRequest, RunHooks, RunRequest, RunResult } from "../../provider/executor/docker.ts";
import type { GuardRequest } from "../../provider/watchdog/spawn.ts";
import { ProviderDaemon } from "../../provider/daemon.ts";
import { readJobRecord } from "../../provider/jobRecord.ts";
import { ResultOutbox } from "../../provider/outbox.ts";
import { jobWorkDir } from "../../provider/workDir.ts";
import { eventually } from "../helpers/eventually.ts";

export class StandInHub extends EventEmitter<HubClientEvents> {
  readonly sent: ProviderMessage[] = [];
  connected = true;
  /** Like the real one: nothing goes out while the connection is down. */
  send(message: ProviderMessage): boolean {
    if (!this.connected) return false;
    this.sent.push(message);
    return true;
  }
  of<T extends ProviderMessage["type"]>(type: T): Extract<ProviderMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ProviderMessage, { type: T }> => m.type === type);
  }
}

/** Runs nothing: each run (fresh or resumed) waits until the test ends it, or until it is aborted. */
export class StandInExecutor {
  readonly runs: Array<{ request: RunRequest | ResumeRequest; hooks: RunHooks; signal: AbortSignal; prepared?: PreparedContainer; end(outcome: RunResult["outcome"], error?: string): void }> = [];
  readonly disposed: Array<{ workDir: string; containerId: string | null | undefined }> = [];
  /** Containers made ahead at accept (DockerExecutor.prepare): one per job, under this id. */
  readonly prepared: string[] = [];
  /** What a run does on its own as it starts (a container found ended: its output read at once, its end). */
  onStart?: (run: StandInExecutor["runs"][number]) => void;
  /** When set, a container made ahead is ready only once it settles (a slow `docker create`). */
  prepareGate?: Promise<void>;
  /** Each container's environment, as `secretsOf` reads it back (an adopted job's secrets). */
  readonly containerEnv = new Map<string, Record<string, string>>();
  async secretsOf(containerId: string, names: readonly string[]): Promise<Record<string, string> | undefined> {
    const env = this.containerEnv.get(containerId);
    return env && Object.fromEntries(names.flatMap((name) => (env[name] === undefined ? [] : [[name, env[name]]])));
  }
  async prepare(request: RunRequest): Promise<PreparedContainer | undefined> {
    await this.prepareGate;
    // As the real one: none for a job whose network the run opens, or whose secrets or registry password come with the hub's start.
    if (request.spec.network || request.spec.secrets || request.spec.registry_auth) return undefined;
    this.prepared.push(request.jobId);
    return { containerId: `c-ahead-${request.jobId}`, image: { warm: true, ms: 0 }, volume: "folder" };
  }
  run(request: RunRequest, hooks: RunHooks, signal: AbortSignal, prepared?: PreparedContainer): Promise<RunResult> {
    // As the real one: the container recorded, then started, then guarded.
    if (!("resumed" in request)) void Promise.resolve(hooks.onContainer?.("c-fresh")).then(() => hooks.onStarted?.("c-fresh"));
    return new Promise((resolve) => {
      const end = (outcome: RunResult["outcome"], error = `the job ${outcome}`) =>
        resolve({ outcome, exitCode: outcome === "failed" ? 1 : null, error: outcome === "succeeded" ? null : error, pullMs: 0, runMs: 10, outputsDir: join(request.workDir, "outputs"), containerId: "resumed" in request ? null : "c-fresh" });
      signal.addEventListener("abort", () => end("canceled"), { once: true });
      this.runs.push({ request, hooks, signal, ...(prepared ? { prepared } : {}), end });
      this.onStart?.(this.runs.at(-1)!);
    });
  }
  resume(request: ResumeRequest, hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    return this.run({ ...request, resumed: true } as RunRequest, hooks, signal).then((result) => ({ ...result, containerId: request.containerId }));
  }
  /** The most disposals of one folder under way at once (two umounts of one volume race). */
  mostDisposingAtOnce = 0;
  private readonly disposing = new Map<string, number>();
  async dispose(workDir: string, containerId: string | null | undefined): Promise<void> {
    this.disposed.push({ workDir, containerId });
    const now = (this.disposing.get(workDir) ?? 0) + 1;
    this.disposing.set(workDir, now);
    this.mostDisposingAtOnce = Math.max(this.mostDisposingAtOnce, now);
    // As a real unmount does, it takes a moment.
    await new Promise((resolve) => setTimeout(resolve, 20));
    this.disposing.set(workDir, now - 1);
  }
}

/** Records what it was asked to guard; starts no process. */
export class StandInWatchdogs {
  readonly guarded: GuardRequest[] = [];
  /** What the job's record said when the guard was asked for. */
  readonly recordedAtGuard: Array<string | null | undefined> = [];
  async guard(request: GuardRequest): Promise<void> {
    this.guarded.push(request);
    const read = await readJobRecord(request.workDir);
    this.recordedAtGuard.push(read.ok ? read.record.container_id : undefined);
  }
}

export const resources = { cpus: 2, memory_mb: 1024, disk_free_mb: 1000, gpus: [{ index: 0, uuid: "GPU-a", model: "H100", vram_mb: 81_559 }] };
export const failedResult = (jobId: string): ResultMessage => ({ v: 1, type: "job.result", job_id: jobId, outcome: "failed", exit_code: 1, error: "boom", manifest: null, amount_wei: "0", signature: null });
export const offer = (jobId: string, overrides: Partial<OfferMessage> = {}): OfferMessage => ({
  v: 1,
  type: "job.offer",
  job_id: jobId,
  chain_job_id: `0x${"ab".repeat(32)}`,
  spec: { image: "busybox", resources: { gpus: 1, cpus: 1, memory_mb: 128 }, timeout_s: 60, max_price_wei: "100" },
  gpu_uuids: ["GPU-a"],
  rate_wei_per_second: "1",
  max_amount_wei: "60",
  expires_at: Date.now() + 60_000,
  ...overrides,
});

// Fresh for each test (useDaemonStandIns); importers read them as live bindings.
export let dir: string;
export let hub: StandInHub;
export let executor: StandInExecutor;
export let watchdogs: StandInWatchdogs;
export let logs: Array<{ msg: string; level: number }>;

/** Call at the top of a test file: a fresh folder and stand-ins for each test. */
export function useDaemonStandIns(): void {
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pond-daemon-"));
    hub = new StandInHub();
    executor = new StandInExecutor();
    watchdogs = new StandInWatchdogs();
    logs = [];
  });
  afterEach(async () => {
    // A daemon a test left may still be writing its last file; rm retries ENOTEMPTY rather than failing the test.
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  });
}

export function daemonWith(outbox: ResultOutbox, extra: Partial<ConstructorParameters<typeof ProviderDaemon>[0]> = {}): ProviderDaemon {
  const log = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  return new ProviderDaemon({
    api: "http://127.0.0.1:9",
    account: privateKeyToAccount(generatePrivateKey()),
    resources,
    pricing: { gpu_second_wei: "1", cpu_second_wei: "1" },
    dataDir: dir,
    maxOutputBytes: 1_000_000,
    hub: hub as unknown as HubClient,
    executor,
    outbox,
    watchdogs,
    log,
    ...extra,
  });
}

export const welcome = () => hub.emit("welcome", { v: 1, type: "welcome", address: zeroAddress, chain_id: 31337, verifying_contract: zeroAddress, heartbeat_ms: 1000, grace_ms: 12_000 });
export const silentOutbox = () => new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" }));

/** A job folder as an earlier daemon left it: its record, and (if it ran) its container's id. */
export async function leftBehind(jobId: string, containerId?: string) {
  const workDir = jobWorkDir(dir, jobId);
  await mkdir(workDir, { recursive: true });
  const record = { v: 1 as const, offer: offer(jobId), accepted_at: Date.now() - 5_000, grace_ms: 7_000, ...(containerId ? { container_id: containerId } : {}) };
  await writeFile(join(workDir, "job.json"), JSON.stringify(record));
  return { record, workDir };
}

export async function accepted(jobId: string, overrides: Partial<OfferMessage> = {}): Promise<void> {
  hub.emit("message", offer(jobId, overrides));
  await eventually(async () => hub.of("job.accept").some((m) => m.job_id === jobId), { what: `${jobId} accepted` });
}
