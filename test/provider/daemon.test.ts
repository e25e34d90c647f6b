// The daemon's decisions, against a stand-in hub and executor: what it tells
// the hub, what it holds, and how it shuts down. Docker runs in test/e2e.
import { EventEmitter } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OfferMessage, ProviderMessage, ResultMessage } from "../../protocol/hubMessages.ts";
import type { HubClient, HubClientEvents } from "../../provider/connection/hubClient.ts";
import type { DockerExecutor, RunHooks, RunRequest, RunResult } from "../../provider/executor/docker.ts";
import { ProviderDaemon } from "../../provider/daemon.ts";
import { ResultOutbox } from "../../provider/outbox.ts";
import { eventually } from "../helpers/eventually.ts";

class StandInHub extends EventEmitter<HubClientEvents> {
  readonly sent: ProviderMessage[] = [];
  send(message: ProviderMessage): boolean {
    this.sent.push(message);
    return true;
  }
  of<T extends ProviderMessage["type"]>(type: T): Extract<ProviderMessage, { type: T }>[] {
    return this.sent.filter((m): m is Extract<ProviderMessage, { type: T }> => m.type === type);
  }
}

/** Runs nothing: each run waits until the test ends it, or until it is aborted. */
class StandInExecutor {
  readonly runs: Array<{ request: RunRequest; signal: AbortSignal; end(outcome: RunResult["outcome"], error?: string): void }> = [];
  run(request: RunRequest, _hooks: RunHooks, signal: AbortSignal): Promise<RunResult> {
    return new Promise((resolve) => {
      const end = (outcome: RunResult["outcome"], error = `the job ${outcome}`) =>
        resolve({ outcome, exitCode: outcome === "failed" ? 1 : null, error: outcome === "succeeded" ? null : error, pullMs: 0, runMs: 10, outputsDir: join(request.workDir, "outputs") });
      signal.addEventListener("abort", () => end("canceled"), { once: true });
      this.runs.push({ request, signal, end });
    });
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
let logs: Array<{ msg: string; level: number }>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-daemon-"));
  hub = new StandInHub();
  executor = new StandInExecutor();
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
    log,
  });
}

const welcome = () => hub.emit("welcome", { v: 1, type: "welcome", address: zeroAddress, chain_id: 31337, verifying_contract: zeroAddress, heartbeat_ms: 1000 });

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

describe("offers", () => {
  it("declines, and gives back what it held, when it cannot accept", async () => {
    daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    // Past the schema (as a hub bug could send it): signing fails on the chain job id.
    hub.emit("message", offer("job_bad", { chain_job_id: "0x12" }));
    const [decline] = await eventually(async () => hub.of("job.decline").length > 0 && hub.of("job.decline"));
    expect(decline).toMatchObject({ job_id: "job_bad", reason: expect.stringMatching(/could not accept the job/) });
    await accepted("job_good");
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
