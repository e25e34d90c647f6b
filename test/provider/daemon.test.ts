// The daemon's decisions, against a stand-in hub and executor: what it tells
// the hub, what it holds, and how it shuts down. Docker runs in test/e2e.
import { execFile } from "node:child_process";
import { EventEmitter } from "node:events";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OfferMessage, ProviderMessage, ResultMessage } from "../../protocol/hubMessages.ts";
import type { HubClient, HubClientEvents } from "../../provider/connection/hubClient.ts";
import type { DockerExecutor, ResumeRequest, RunHooks, RunRequest, RunResult } from "../../provider/executor/docker.ts";
import type { GuardRequest } from "../../provider/watchdog/spawn.ts";
import { ProviderDaemon } from "../../provider/daemon.ts";
import { readJobRecord } from "../../provider/jobRecord.ts";
import { ResultOutbox } from "../../provider/outbox.ts";
import { jobWorkDir } from "../../provider/workDir.ts";
import { eventually } from "../helpers/eventually.ts";

class StandInHub extends EventEmitter<HubClientEvents> {
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
class StandInExecutor {
  readonly runs: Array<{ request: RunRequest | ResumeRequest; hooks: RunHooks; signal: AbortSignal; end(outcome: RunResult["outcome"], error?: string): void }> = [];
  readonly disposed: Array<{ workDir: string; containerId: string | null | undefined }> = [];
  /** What a run does on its own as it starts (a container found ended: its output read at once, its end). */
  onStart?: (run: StandInExecutor["runs"][number]) => void;
  run(request: RunRequest, hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    // As the real one: the container recorded, then started, then guarded.
    if (!("resumed" in request)) void Promise.resolve(hooks.onContainer?.("c-fresh")).then(() => hooks.onStarted?.("c-fresh"));
    return new Promise((resolve) => {
      const end = (outcome: RunResult["outcome"], error = `the job ${outcome}`) =>
        resolve({ outcome, exitCode: outcome === "failed" ? 1 : null, error: outcome === "succeeded" ? null : error, pullMs: 0, runMs: 10, outputsDir: join(request.workDir, "outputs"), containerId: "resumed" in request ? null : "c-fresh" });
      signal.addEventListener("abort", () => end("canceled"), { once: true });
      this.runs.push({ request, hooks, signal, end });
      this.onStart?.(this.runs.at(-1)!);
    });
  }
  resume(request: ResumeRequest, hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    return this.run({ ...request, resumed: true } as RunRequest, hooks, signal).then((result) => ({ ...result, containerId: request.containerId }));
  }
  async dispose(workDir: string, containerId: string | null | undefined): Promise<void> {
    this.disposed.push({ workDir, containerId });
  }
}

/** Records what it was asked to guard; starts no process. */
class StandInWatchdogs {
  readonly guarded: GuardRequest[] = [];
  /** What the job's record said when the guard was asked for. */
  readonly recordedAtGuard: Array<string | null | undefined> = [];
  async guard(request: GuardRequest): Promise<void> {
    this.guarded.push(request);
    const read = await readJobRecord(request.workDir);
    this.recordedAtGuard.push(read.ok ? read.record.container_id : undefined);
  }
}

const resources = { cpus: 2, memory_mb: 1024, disk_free_mb: 1000, gpus: [{ index: 0, uuid: "GPU-a", model: "H100", vram_mb: 81_559 }] };
const failedResult = (jobId: string): ResultMessage => ({ v: 1, type: "job.result", job_id: jobId, outcome: "failed", exit_code: 1, error: "boom", manifest: null, amount_wei: "0", signature: null });
const offer = (jobId: string, overrides: Partial<OfferMessage> = {}): OfferMessage => ({
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

let dir: string;
let hub: StandInHub;
let executor: StandInExecutor;
let watchdogs: StandInWatchdogs;
let logs: Array<{ msg: string; level: number }>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-daemon-"));
  hub = new StandInHub();
  executor = new StandInExecutor();
  watchdogs = new StandInWatchdogs();
  logs = [];
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function daemonWith(outbox: ResultOutbox): ProviderDaemon {
  const log = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  return new ProviderDaemon({
    api: "http://127.0.0.1:9",
    account: privateKeyToAccount(generatePrivateKey()),
    resources,
    pricing: { gpu_second_wei: "1", cpu_second_wei: "1" },
    dataDir: dir,
    maxOutputBytes: 1_000_000,
    hub: hub as unknown as HubClient,
    executor: executor as unknown as DockerExecutor,
    outbox,
    watchdogs,
    log,
  });
}

const welcome = () => hub.emit("welcome", { v: 1, type: "welcome", address: zeroAddress, chain_id: 31337, verifying_contract: zeroAddress, heartbeat_ms: 1000, grace_ms: 12_000 });
const silentOutbox = () => new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" }));

/** A job folder as an earlier daemon left it: its record, and (if it ran) its container's id. */
async function leftBehind(jobId: string, containerId?: string) {
  const workDir = jobWorkDir(dir, jobId);
  await mkdir(workDir, { recursive: true });
  const record = { v: 1 as const, offer: offer(jobId), accepted_at: Date.now() - 5_000, grace_ms: 7_000, ...(containerId ? { container_id: containerId } : {}) };
  await writeFile(join(workDir, "job.json"), JSON.stringify(record));
  return { record, workDir };
}

async function accepted(jobId: string): Promise<void> {
  hub.emit("message", offer(jobId));
  await eventually(async () => hub.of("job.accept").some((m) => m.job_id === jobId), { what: `${jobId} accepted` });
}

describe("reconnecting", () => {
  it("reports a job whose result waits in the outbox as running, then sends the result", async () => {
    const outbox = new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" }));
    await outbox.add(failedResult("job_done"));
    const daemon = daemonWith(outbox);
    await accepted("job_live");
    welcome();
    const [advertise] = await eventually(async () => hub.of("advertise").length > 0 && hub.of("advertise"));
    expect(advertise!.running.sort()).toEqual(["job_done", "job_live"]);
    expect(hub.of("job.result").map((r) => r.job_id)).toEqual(["job_done"]);
    expect(daemon.activeJobs).toEqual(["job_live"]);
  });
});

describe("results waiting for the hub", () => {
  it("wait on one welcome listener however many jobs end while the hub is away, and all go when it is back", async () => {
    daemonWith(silentOutbox());
    welcome();
    const small = { gpu_uuids: [], spec: { ...offer("x").spec, resources: { gpus: 0, cpus: 0.1, memory_mb: 32 } } };
    const ids = Array.from({ length: 12 }, (_, i) => `job_w${i}`);
    for (const id of ids) {
      hub.emit("message", offer(id, small));
      await eventually(async () => hub.of("job.accept").some((m) => m.job_id === id), { what: `${id} accepted` });
      hub.emit("message", { v: 1, type: "job.start", job_id: id });
    }
    await eventually(async () => executor.runs.length === ids.length, { what: "every job running" });
    const listenersBefore = hub.listenerCount("welcome");
    hub.connected = false;
    for (const run of executor.runs) run.end("failed");
    await eventually(async () => logs.filter((l) => l.msg === "job finished").length === ids.length, { what: "every job finished" });
    // One each would pass Node's limit of 10 (MaxListenersExceededWarning) and grow with the jobs.
    expect(hub.listenerCount("welcome") - listenersBefore).toBeLessThanOrEqual(1);
    hub.connected = true;
    welcome();
    await eventually(async () => ids.every((id) => hub.of("job.result").some((r) => r.job_id === id)), { what: "every result sent" });
  });
});

describe("a restart", () => {
  it("writes what a restart needs into the job's folder before it accepts, with the hub's grace", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_1");
    const read = await readJobRecord(jobWorkDir(dir, "job_1"));
    expect(read).toMatchObject({ ok: true, record: { offer: { job_id: "job_1", chain_job_id: offer("job_1").chain_job_id }, grace_ms: 12_000 } });
  });

  it("records the container before it starts, then has it guarded with the hub's grace and the job's timeout", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_1");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
    await eventually(async () => watchdogs.recordedAtGuard.length === 1);
    expect(watchdogs.guarded[0]).toMatchObject({ jobId: "job_1", containerId: "c-fresh", graceMs: 12_000, timeoutS: 60 });
    // A daemon killed between the start and the guard finds the container in the record, adopts and guards it.
    expect(watchdogs.recordedAtGuard).toEqual(["c-fresh"]);
  });

  it("carries on with a container an earlier run left: reported running, guarded, seen through, then removed", async () => {
    const left = await leftBehind("job_old", "c-old");
    const daemon = daemonWith(silentOutbox());
    daemon.carryOn([{ ...left, containerId: "c-old" }], []);
    welcome();
    const [advertise] = await eventually(async () => hub.of("advertise").length > 0 && hub.of("advertise"));
    expect(advertise!.running).toEqual(["job_old"]);
    expect(hub.of("job.status")).toEqual([expect.objectContaining({ job_id: "job_old", phase: "running" })]);
    await eventually(async () => executor.runs.length === 1);
    expect(executor.runs[0]!.request).toMatchObject({ jobId: "job_old", containerId: "c-old" });
    expect(watchdogs.guarded).toEqual([expect.objectContaining({ containerId: "c-old", graceMs: 7_000 })]);
    executor.runs[0]!.end("failed");
    await eventually(async () => hub.of("job.result").length === 1);
    await eventually(async () => daemon.activeJobs.length === 0);
    expect(executor.disposed).toEqual([{ workDir: left.workDir, containerId: "c-old" }]);
    await expect(access(left.workDir)).rejects.toThrow();
  });

  it("reads an adopted container's output only once the hub is connected, so none of it is dropped", async () => {
    const left = await leftBehind("job_old", "c-old");
    // It ended while the daemon was down: all it printed is read at once, and it is over.
    executor.onStart = (run) => {
      run.hooks.onLog("printed while the daemon was down\n");
      run.end("failed");
    };
    hub.connected = false;
    const daemon = daemonWith(silentOutbox());
    daemon.carryOn([{ ...left, containerId: "c-old" }], []);
    // One turn of the event loop: whatever needs no I/O runs (reading that output, and sending it into the closed connection, did).
    await new Promise((resolve) => setImmediate(resolve));
    expect(watchdogs.guarded).toHaveLength(1);
    hub.connected = true;
    welcome();
    await eventually(async () => hub.of("job.result").length === 1, { what: "the result" });
    expect(hub.of("job.log").map((m) => m.data).join("")).toBe("printed while the daemon was down\n");
    const types = hub.sent.map((m) => m.type);
    expect(types.indexOf("advertise")).toBeLessThan(types.indexOf("job.log"));
    await eventually(async () => daemon.activeJobs.length === 0);
  });

  it("keeps an accepted job that never started until the hub starts it", async () => {
    const left = await leftBehind("job_waiting");
    const daemon = daemonWith(silentOutbox());
    daemon.carryOn([], [left]);
    welcome();
    const [advertise] = await eventually(async () => hub.of("advertise").length > 0 && hub.of("advertise"));
    expect(advertise!.running).toEqual(["job_waiting"]);
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_waiting" });
    await eventually(async () => executor.runs.length === 1);
    expect(executor.runs[0]!.request).not.toHaveProperty("containerId");
  });

  it("drops an accepted job the hub cancels before it starts, folder and all", async () => {
    const left = await leftBehind("job_gone");
    const daemon = daemonWith(silentOutbox());
    daemon.carryOn([], [left]);
    hub.emit("message", { v: 1, type: "job.cancel", job_id: "job_gone", reason: "the job is no longer assigned to you" });
    expect(daemon.activeJobs).toEqual([]);
    await eventually(async () => access(left.workDir).then(() => false, () => true), { what: "the folder to go" });
  });
});

describe("offers", () => {
  it("declines, and gives back what it held, when it cannot accept", async () => {
    daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    // Past the schema (as a hub bug could send it): signing fails on the chain job id.
    hub.emit("message", offer("job_bad", { chain_job_id: "0x12" }));
    const [decline] = await eventually(async () => hub.of("job.decline").length > 0 && hub.of("job.decline"));
    expect(decline).toMatchObject({ job_id: "job_bad", reason: expect.stringMatching(/could not accept the job/) });
    await accepted("job_good");
  });

  it("declines a job whose spec names hosts to reach when it offers no egress, holding nothing", async () => {
    const daemon = daemonWith(silentOutbox());
    welcome();
    const fetching = offer("job_net");
    hub.emit("message", { ...fetching, spec: { ...fetching.spec, network: { allow: ["huggingface.co"] } } });
    const [decline] = await eventually(async () => hub.of("job.decline").length > 0 && hub.of("job.decline"));
    expect(decline).toMatchObject({ job_id: "job_net", reason: "this provider does not offer network egress, which the job's network.allow needs" });
    expect(daemon.activeJobs).toEqual([]);
    expect(hub.of("job.accept")).toEqual([]);
  });
});

describe("results", () => {
  it("sends a result the outbox could not save, and survives the failed save on its ack", async () => {
    // A file where the outbox's folder should be: every save fails.
    await writeFile(join(dir, "blocked"), "");
    daemonWith(new ResultOutbox(join(dir, "blocked", "outbox.json"), pino({ level: "silent" })));
    await accepted("job_1");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
    await eventually(async () => executor.runs.length === 1);
    executor.runs[0]!.end("failed");
    const [result] = await eventually(async () => hub.of("job.result").length > 0 && hub.of("job.result"));
    expect(result).toMatchObject({ job_id: "job_1", outcome: "failed", error: "the job failed" });
    expect(logs.some((l) => /could not save the result in the outbox; sending it anyway/.test(l.msg))).toBe(true);
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_1", accepted: true });
    await eventually(async () => logs.some((l) => /handling a result acknowledgement failed/.test(l.msg)));
  });

  it("cuts an error longer than the hub takes", async () => {
    daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    await accepted("job_1");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
    await eventually(async () => executor.runs.length === 1);
    // As long as a registry's error page quoted in a failed pull can be.
    executor.runs[0]!.end("failed", `could not get image busybox: ${"x".repeat(5000)}`);
    const [result] = await eventually(async () => hub.of("job.result").length > 0 && hub.of("job.result"));
    expect(result!.error).toHaveLength(2000);
    expect(result!.error).toMatch(/^could not get image busybox: x+ \[…\]$/);
  });
});

describe("a job's end", () => {
  async function started(jobId: string) {
    daemonWith(silentOutbox());
    await accepted(jobId);
    hub.emit("message", { v: 1, type: "job.start", job_id: jobId });
    await eventually(async () => executor.runs.length === 1);
    return executor.runs[0]!;
  }
  const folderGone = (workDir: string) => eventually(async () => access(workDir).then(() => false, () => true), { what: "the job's folder to go" });

  it("cleans up once the hub has answered the result, not beside its checks; and without an answer, after a wait", async () => {
    const run = await started("job_1");
    run.end("failed");
    await eventually(async () => hub.of("job.result").length === 1, { what: "the result" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(executor.disposed).toEqual([]);
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_1", accepted: true });
    await folderGone(run.request.workDir);
    expect(executor.disposed).toEqual([{ workDir: run.request.workDir, containerId: "c-fresh" }]);

    // A hub that never answers keeps neither the container nor the disk.
    const second = offer("job_2", { gpu_uuids: [], spec: { ...offer("job_2").spec, resources: { gpus: 0, cpus: 1, memory_mb: 128 } } });
    hub.emit("message", second);
    await eventually(async () => hub.of("job.accept").some((a) => a.job_id === "job_2"));
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_2" });
    await eventually(async () => executor.runs.length === 2);
    executor.runs[1]!.end("failed");
    await eventually(async () => hub.of("job.result").length === 2, { what: "the second result" });
    await folderGone(executor.runs[1]!.request.workDir);
  });

  it("lets the job record's writes finish before its folder goes, and writes none after", async () => {
    const run = await started("job_1");
    // A chatty job: every chunk forwarded moves the log cursor in the record.
    for (let i = 0; i < 300; i++) run.hooks.onLog(`${"x".repeat(16 * 1024 - 1)}\n`, `2026-01-01T00:00:${String(i % 60).padStart(2, "0")}.${String(i).padStart(9, "0")}Z`);
    run.end("failed");
    await eventually(async () => hub.of("job.result").length === 1, { what: "the result" });
    await folderGone(run.request.workDir);
    const problems = logs.filter((l) => l.level >= 40).map((l) => l.msg);
    expect(problems).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)("sends the result though the job's folder cannot be removed, and removes it on a later try", async () => {
    const run = await started("job_1");
    // Something still mounted in the folder (a volume not let go): removing it fails with EBUSY until it is unmounted.
    const mounted = join(run.request.workDir, "busy");
    await mkdir(mounted);
    await promisify(execFile)("mount", ["-t", "tmpfs", "tmpfs", mounted]);
    try {
      run.end("failed");
      await eventually(async () => hub.of("job.result").length === 1, { what: "the result" });
      // The cleanup waits for the hub's answer to the result.
      hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_1", accepted: true });
      await eventually(async () => logs.some((l) => l.level === 40));
      expect(logs.some((l) => l.level === 40 && /could not remove the job's container, output volume or folder/.test(l.msg))).toBe(true);
    } finally {
      await promisify(execFile)("umount", [mounted]);
    }
    await folderGone(run.request.workDir);
    await eventually(async () => logs.some((l) => /removed the job's leftovers on a later try/.test(l.msg)));
  });

  it("names none of the provider's own paths in the result's error", async () => {
    const run = await started("job_1");
    const workDir = run.request.workDir;
    run.end("failed", `the provider could not run the job: ENOSPC: no space left on device, open '${workDir}/outputs/a.bin'; see ${workDir}/job.json and ${dir}/outbox.json`);
    const [result] = await eventually(async () => hub.of("job.result").length > 0 && hub.of("job.result"));
    expect(result!.error).toBe(
      "the provider could not run the job: ENOSPC: no space left on device, open '/outputs/a.bin'; see <the job's folder on the provider>/job.json and <the provider's data folder>/outbox.json",
    );
  });
});

describe("draining", () => {
  it("waits for a job the hub starts during the drain", async () => {
    const daemon = daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    await accepted("job_1");
    let drained: boolean | undefined;
    const drain = daemon.drain(20_000).then((idle) => (drained = idle));
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
    await eventually(async () => executor.runs.length === 1, { what: "the job to start" });
    expect(drained).toBeUndefined();
    // No new work meanwhile.
    hub.emit("message", offer("job_2", { gpu_uuids: [], spec: { ...offer("x").spec, resources: { gpus: 0, cpus: 0.5, memory_mb: 64 } } }));
    await eventually(async () => hub.of("job.decline").some((m) => m.job_id === "job_2" && /shutting down/.test(m.reason)));
    executor.runs[0]!.end("failed");
    await drain;
    expect(drained).toBe(true);
    expect(hub.of("job.result").map((r) => r.job_id)).toEqual(["job_1"]);
  });

  it("gives up at its timeout; cancelAll then stops what runs and forgets what never started", async () => {
    const daemon = daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    await accepted("job_1");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
    await eventually(async () => executor.runs.length === 1);
    hub.emit("message", offer("job_2", { gpu_uuids: [], spec: { ...offer("x").spec, resources: { gpus: 0, cpus: 0.5, memory_mb: 64 } } }));
    await eventually(async () => hub.of("job.accept").some((m) => m.job_id === "job_2"));
    expect(await daemon.drain(50)).toBe(false);
    daemon.cancelAll();
    expect(await daemon.drain(5_000)).toBe(true);
    expect(executor.runs[0]!.signal.aborted).toBe(true);
    expect(hub.of("job.result")).toEqual([expect.objectContaining({ job_id: "job_1", outcome: "canceled" })]);
  });
});
