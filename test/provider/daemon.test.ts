// The daemon's decisions, against a stand-in hub and executor (daemonStandIns.ts):
// what it tells the hub, what it holds, and what a restart finds. A job's end and
// the drain are in daemonJobEnd.test.ts; Docker runs in test/e2e.
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { SpareJobFolders } from "../../provider/executor/spareJobFolders.ts";
import { readJobRecord } from "../../provider/jobRecord.ts";
import { ResultOutbox } from "../../provider/outbox.ts";
import { jobWorkDir } from "../../provider/workDir.ts";
import { eventually } from "../helpers/eventually.ts";
import { accepted, daemonWith, dir, executor, failedResult, hub, leftBehind, logs, offer, silentOutbox, useDaemonStandIns, watchdogs, welcome } from "./daemonStandIns.ts";

useDaemonStandIns();

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
  it("sends a result again on a reconnect that comes before the hub's answer: the first may have gone down with the old connection", async () => {
    const daemon = daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    welcome();
    await accepted("job_cut");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_cut" });
    await eventually(async () => executor.runs.length === 1, { what: "the job running" });
    executor.runs[0]!.end("failed");
    const sent = () => hub.of("job.result").filter((r) => r.job_id === "job_cut").length;
    await eventually(async () => sent() === 1, { what: "its result sent" });
    // Cut and back before the hub answered: the job is still being cleaned up here, its result in the outbox.
    welcome();
    await eventually(async () => sent() === 2, { what: "its result sent again" });
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_cut", accepted: true });
    // The ack rewrites the outbox and the job's folder is being removed: both done before the test's folder goes.
    await eventually(async () => logs.some((l) => l.msg === "result accepted") && !daemon.busy, { what: "the result acknowledged and the job cleaned up" });
  });

  it("does not send a result twice on a reconnect while its job is still finishing: the job sends it after its last output", async () => {
    const outbox = new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" }));
    daemonWith(outbox);
    await accepted("job_finishing");
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_finishing" });
    await eventually(async () => executor.runs.length === 1, { what: "the job running" });
    // Its result saved, not yet sent: as while the daemon waits for the hub after the run.
    await outbox.add(failedResult("job_finishing"));
    welcome();
    await eventually(async () => hub.of("advertise").length > 0, { what: "the advertise" });
    expect(hub.of("job.result")).toEqual([]);
    executor.runs[0]!.end("failed");
    await eventually(async () => hub.of("job.result").length === 1, { what: "its result sent by the job" });
  });
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

describe("a container made ahead", () => {
  it("is made once the accept is out and started then, not a round trip later at the hub's start, which changes nothing", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_ahead");
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the job started" });
    expect(run!.prepared).toMatchObject({ containerId: "c-ahead-job_ahead" });
    expect(logs.find((l) => l.msg === "starting the job")).toMatchObject({ on: "its container made ahead" });
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_ahead" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(executor.runs).toHaveLength(1);
  });

  it("is not made for a job that may reach the network, which waits for the hub's start", async () => {
    daemonWith(silentOutbox(), { egress: {} as never });
    welcome();
    const fetching = offer("job_net");
    await accepted("job_net", { spec: { ...fetching.spec, network: { allow: ["huggingface.co"] } } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const starts = () => logs.filter((l) => l.msg === "starting the job");
    expect(starts()).toEqual([]);
    expect(executor.prepared).toEqual([]);
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_net" });
    await eventually(async () => starts().length === 1, { what: "the job started" });
    expect(starts()[0]).toMatchObject({ on: "the hub's start" });
    // These stand-ins give it no egress proxy, so it fails; seen to its end before the test's folder goes.
    await eventually(async () => hub.of("job.result").length === 1, { what: "its result" });
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_net", accepted: true });
    await eventually(async () => executor.disposed.some((d) => d.workDir === jobWorkDir(dir, "job_net")), { what: "its cleanup" });
    await eventually(async () => access(jobWorkDir(dir, "job_net")).then(() => false, () => true), { what: "its folder to go" });
  });

  it("goes with its /outputs volume and folder when the hub cancels the job before its start", async () => {
    let release!: () => void;
    // Still being made when the cancel comes (once made, the job starts at once).
    executor.prepareGate = new Promise<void>((resolve) => (release = resolve));
    const daemon = daemonWith(silentOutbox());
    welcome();
    await accepted("job_canceled");
    hub.emit("message", { v: 1, type: "job.cancel", job_id: "job_canceled", reason: "the job is no longer queued" });
    release();
    expect(daemon.activeJobs).toEqual([]);
    const workDir = jobWorkDir(dir, "job_canceled");
    // dispose unmounts a spare's volume: removing the folder alone left it mounted, and its loop device taken.
    await eventually(async () => executor.disposed.some((d) => d.workDir === workDir && d.containerId === "c-ahead-job_canceled"), { what: "the container and volume disposed of" });
    await eventually(async () => access(workDir).then(() => false, () => true), { what: "the folder to go" });
    expect(executor.runs).toEqual([]);
  });

  it("still being made when its job fails before the start (its inputs), goes once made", async () => {
    let release!: () => void;
    executor.prepareGate = new Promise<void>((resolve) => (release = resolve));
    daemonWith(silentOutbox());
    welcome();
    const withInputs = offer("job_inputs");
    // This daemon has no data plane: the inputs fail at once, before the container made ahead is ready.
    const spec = { ...withInputs.spec, input_files: [{ path: "data.bin", size: 4, sha256: "ab".repeat(32) }] };
    await accepted("job_inputs", { spec });
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_inputs" });
    const [result] = await eventually(async () => hub.of("job.result").length > 0 && hub.of("job.result"));
    expect(result).toMatchObject({ outcome: "failed", error: expect.stringMatching(/cannot receive input files/) });
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_inputs", accepted: true });
    release();
    await eventually(async () => executor.disposed.some((d) => d.containerId === "c-ahead-job_inputs"), { what: "the container made ahead disposed of" });
    expect(executor.runs).toEqual([]);
  });

  it("is never made for a job canceled while its accept was being made, and what the accept made goes", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A spare folder whose rename lands only after the cancel: the folder appears after the drop's own cleanup.
    const spares = { takeInto: async (workDir: string) => (await held, await mkdir(workDir, { recursive: true }), true) };
    const daemon = daemonWith(silentOutbox(), { spares: spares as unknown as SpareJobFolders });
    welcome();
    hub.emit("message", offer("job_racing"));
    hub.emit("message", { v: 1, type: "job.cancel", job_id: "job_racing", reason: "the offer expired" });
    expect(daemon.activeJobs).toEqual([]);
    release();
    const workDir = jobWorkDir(dir, "job_racing");
    await eventually(async () => executor.disposed.filter((d) => d.workDir === workDir).length === 2, { what: "the late folder disposed of too" });
    await eventually(async () => access(workDir).then(() => false, () => true), { what: "the folder to go" });
    expect(hub.of("job.accept")).toEqual([]);
    expect(executor.prepared).toEqual([]);
    expect(executor.mostDisposingAtOnce).toBe(1);
    // The cleanup's promise settles just after the folder goes.
    await eventually(async () => !daemon.busy, { what: "nothing left in hand" });
  });
});

describe("offers", () => {
  it("declines, and gives back what it held, when it cannot accept", async () => {
    daemonWith(new ResultOutbox(join(dir, "outbox.json"), pino({ level: "silent" })));
    // Past the schema (as a hub bug could send it): signing fails on the chain job id.
    hub.emit("message", offer("job_bad", { chain_job_id: "0x12" }));
    const [decline] = await eventually(async () => hub.of("job.decline").length > 0 && hub.of("job.decline"));
    expect(decline).toMatchObject({ job_id: "job_bad", reason: expect.stringMatching(/could not accept the job/), busy: true });
    await accepted("job_good");
  });

  it("declines an offer for a GPU its jobs still hold as busy (ask again later), and one for a GPU it lacks for good", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_holding");
    hub.emit("message", offer("job_later"));
    const stranger = offer("job_never");
    hub.emit("message", { ...stranger, gpu_uuids: ["GPU-not-here"] });
    const declines = await eventually(async () => hub.of("job.decline").length === 2 && hub.of("job.decline"));
    const byJob = new Map(declines.map((d) => [d.job_id, d]));
    expect(byJob.get("job_later")).toMatchObject({ reason: expect.stringMatching(/is busy$/), busy: true });
    expect(byJob.get("job_never")).toMatchObject({ reason: "GPU GPU-not-here is not on this host" });
    expect(byJob.get("job_never")).not.toHaveProperty("busy");
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

  it("declines a requeued job whose checkpoint would not fit in its /outputs, so it goes to a provider where it does", async () => {
    const daemon = daemonWith(silentOutbox());
    welcome();
    const resuming = offer("job_ckpt");
    const checkpoint = { files: [{ path: "model.pt", size: 2_000_000, sha256: "a".repeat(64) }], bytes: 2_000_000, saved_at: Date.now(), provider: `0x${"1".repeat(40)}`, attempt: 0 };
    hub.emit("message", { ...resuming, spec: { ...resuming.spec, checkpoint: {} }, checkpoint });
    const [decline] = await eventually(async () => hub.of("job.decline").length > 0 && hub.of("job.decline"));
    expect(decline).toMatchObject({ job_id: "job_ckpt", reason: "the job's checkpoint holds 2000000 bytes, more than the 1000000 this provider keeps for a job's outputs" });
    expect(daemon.activeJobs).toEqual([]);
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
