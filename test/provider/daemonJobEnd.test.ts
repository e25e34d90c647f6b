// The end of a job in the daemon, against a stand-in hub and executor
// (daemonStandIns.ts): its result, its cleanup after the hub's answer, and the
// drain on shutdown. Docker runs in test/e2e.
import { execFile } from "node:child_process";
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ResultOutbox } from "../../provider/outbox.ts";
import { eventually } from "../helpers/eventually.ts";
import { accepted, daemonWith, dir, executor, hub, logs, offer, silentOutbox, useDaemonStandIns } from "./daemonStandIns.ts";

useDaemonStandIns();

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
    // Declined as busy: a daemon draining for a restart may take it once it is back.
    await eventually(async () => hub.of("job.decline").some((m) => m.job_id === "job_2" && /shutting down/.test(m.reason) && m.busy === true));
    executor.runs[0]!.end("failed");
    await drain;
    expect(drained).toBe(true);
    expect(hub.of("job.result").map((r) => r.job_id)).toEqual(["job_1"]);
  });

  it("holding only a job the hub has not started yet, lets timers and the hub's start through while it waits", async () => {
    let release!: () => void;
    // Its container still being made: not started until the hub says so.
    executor.prepareGate = new Promise<void>((resolve) => (release = resolve));
    const daemon = daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    await accepted("job_1");
    let timerRan = false;
    let timerRanBeforeDrainEnded: boolean | undefined;
    // The hub's start after a timer: a drain that waited on nothing spun and starved both until it gave up.
    setTimeout(() => {
      timerRan = true;
      hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
      release();
    }, 20);
    const drain = daemon.drain(5_000).then((idle) => {
      timerRanBeforeDrainEnded = timerRan;
      return idle;
    });
    await eventually(async () => executor.runs.length === 1, { what: "the job to start" });
    executor.runs[0]!.end("failed");
    expect(await drain).toBe(true);
    expect(timerRanBeforeDrainEnded).toBe(true);
  });

  it("gives up at its timeout; cancelAll then stops what runs and forgets what never started", async () => {
    const daemon = daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    await accepted("job_1");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1" });
    await eventually(async () => executor.runs.length === 1);
    let release!: () => void;
    // job_2's container still being made: it never starts.
    executor.prepareGate = new Promise<void>((resolve) => (release = resolve));
    hub.emit("message", offer("job_2", { gpu_uuids: [], spec: { ...offer("x").spec, resources: { gpus: 0, cpus: 0.5, memory_mb: 64 } } }));
    await eventually(async () => hub.of("job.accept").some((m) => m.job_id === "job_2"));
    expect(await daemon.drain(50)).toBe(false);
    daemon.cancelAll();
    release();
    expect(await daemon.drain(5_000)).toBe(true);
    expect(executor.runs[0]!.signal.aborted).toBe(true);
    expect(hub.of("job.result")).toEqual([expect.objectContaining({ job_id: "job_1", outcome: "canceled" })]);
  });
});
