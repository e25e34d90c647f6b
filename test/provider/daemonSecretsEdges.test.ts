// A job's secrets in the daemon at the edges: the mask on a value Docker split in
// two, on values that overlap, with a value too short to mask; a job adopted after a
// restart (its values read back from its container) or accepted before a kill -9;
// and a failed run's error text quoting a value. Each failed before 2026-12-07's fixes.
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SECRET_MASK } from "../../provider/executor/secretMask.ts";
import { jobWorkDir } from "../../provider/workDir.ts";
import { eventually } from "../helpers/eventually.ts";
import { accepted, daemonWith, dir, executor, hub, logs, offer, silentOutbox, useDaemonStandIns, welcome } from "./daemonStandIns.ts";

useDaemonStandIns();

const SECRET = "hf_s3cr3tValueThatMustNotLeak";
const withSecrets = (jobId: string) => ({ spec: { ...offer(jobId).spec, secrets: ["HF_TOKEN"] } });

/** Every file under `folder`, read as text. */
async function everythingUnder(folder: string): Promise<string> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return (await Promise.all(files.map((file) => readFile(file, "utf8")))).join("\n");
}

const forwarded = () => hub.of("job.log").map((m) => m.data).join("");

/** A job accepted and started by the hub with `secrets`; its run (the stand-in executor's). */
async function startedWith(jobId: string, secrets: Record<string, string>) {
  daemonWith(silentOutbox());
  welcome();
  await accepted(jobId, { spec: { ...offer(jobId).spec, secrets: Object.keys(secrets) } });
  hub.emit("message", { v: 1, type: "job.start", job_id: jobId, secrets });
  const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the job started" });
  return run!;
}

async function endAndCollect(run: Awaited<ReturnType<typeof startedWith>>, jobId: string, outcome: "succeeded" | "failed" = "succeeded", error?: string) {
  run.end(outcome, error);
  const [result] = await eventually(async () => hub.of("job.result").length === 1 && hub.of("job.result"), { what: "its result" });
  hub.emit("message", { v: 1, type: "job.result.ack", job_id: jobId, accepted: true });
  return result!;
}

describe("the mask on the forwarded log", () => {
  it("masks a value that Docker split across two log entries (a line past 16 KiB is written as partial entries)", async () => {
    const run = await startedWith("job_split", { HF_TOKEN: SECRET });
    const long = "x".repeat(16 * 1024 - 10);
    // Docker's json-file driver cuts a long line into 16 KiB entries, each with its own timestamp: the value straddles the cut.
    run.hooks.onLog(`${long}${SECRET.slice(0, 10)}`, "2026-01-01T00:00:00.000000001Z");
    run.hooks.onLog(`${SECRET.slice(10)} loaded\n`, "2026-01-01T00:00:00.000000002Z");
    await endAndCollect(run, "job_split");
    expect(forwarded()).toContain("loaded");
    expect(forwarded()).not.toContain(SECRET);
  });

  it("masks every character of two values that overlap in the text, not one whole and the other's rest left showing", async () => {
    const first = "AKIAxxxxSHARED123";
    const second = "SHARED123yyyyzzzz";
    const run = await startedWith("job_overlap", { FIRST: first, SECOND: second });
    run.hooks.onLog(`creds: AKIAxxxxSHARED123yyyyzzzz\n`);
    await endAndCollect(run, "job_overlap");
    expect(forwarded()).toContain("creds: ");
    // The mask of the first leaves "yyyyzzzz", the larger part of the second, in the clear.
    expect(forwarded()).toBe(`creds: ${SECRET_MASK}\n`);
  });

  it("keeps the log readable with a one-character value (the API refuses one; the mask leaves values under 4 characters alone)", async () => {
    const run = await startedWith("job_short", { FLAG: "a" });
    run.hooks.onLog("loading data and parameters\n");
    await endAndCollect(run, "job_short");
    expect(forwarded()).toBe("loading data and parameters\n");
  });

  it("masks the log of a job adopted after a restart, whose container had its values (no start comes again for it)", async () => {
    // An earlier daemon started the job with its secrets, then was restarted: its record (no values, rightly) and container are left.
    const workDir = jobWorkDir(dir, "job_adopted");
    await mkdir(workDir, { recursive: true });
    const record = { v: 1 as const, offer: offer("job_adopted", withSecrets("job_adopted")), accepted_at: Date.now() - 5_000, grace_ms: 7_000, container_id: "c-old" };
    await writeFile(join(workDir, "job.json"), JSON.stringify(record));
    // Docker keeps the container's environment: the daemon reads the values back from it.
    executor.containerEnv.set("c-old", { HF_TOKEN: SECRET, OTHER: "not a secret" });
    executor.onStart = (run) => {
      run.hooks.onLog(`printed while the daemon was down: token=${SECRET}\n`);
      run.end("succeeded");
    };
    const daemon = daemonWith(silentOutbox());
    daemon.carryOn([{ record, workDir, containerId: "c-old" }], []);
    welcome();
    // The hub holds the job as processing: its reconcile sends no start (with values) for it.
    await eventually(async () => hub.of("job.result").length === 1, { what: "the result" });
    expect(forwarded()).toContain("printed while the daemon was down");
    expect(forwarded()).not.toContain(SECRET);
  });
});

describe("a restart and the values", () => {
  it("runs a job accepted before a kill -9 with the values the hub's start brings again on reconnect, and keeps them off disk", async () => {
    const workDir = jobWorkDir(dir, "job_waiting");
    await mkdir(workDir, { recursive: true });
    const record = { v: 1 as const, offer: offer("job_waiting", withSecrets("job_waiting")), accepted_at: Date.now() - 5_000, grace_ms: 7_000 };
    await writeFile(join(workDir, "job.json"), JSON.stringify(record));
    const daemon = daemonWith(silentOutbox());
    daemon.carryOn([], [{ record, workDir }]);
    welcome();
    const [advertise] = await eventually(async () => hub.of("advertise").length > 0 && hub.of("advertise"));
    expect(advertise!.running).toEqual(["job_waiting"]);
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_waiting", secrets: { HF_TOKEN: SECRET } });
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the job started" });
    expect(run!.request).toMatchObject({ secrets: { HF_TOKEN: SECRET } });
    expect(await everythingUnder(dir)).not.toContain(SECRET);
    await endAndCollect(run!, "job_waiting");
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });
});

describe("the error text of a failed run", () => {
  // What runc answers (seen with Docker 20.10 here) for a value it refuses: NAME=VALUE, whole. The API refuses a NUL in
  // a value now, but an engine's error may quote the environment for other reasons.
  const runcError = (value: string) =>
    `the container could not start: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: environment variable value can't contain null(\\x00): "HF_TOKEN=${value}\\x00part2": unknown`;

  it("keeps a value the executor's error quotes out of the result (the job's error in the API and webhooks), the outbox and the daemon's log", async () => {
    const run = await startedWith("job_err", { HF_TOKEN: SECRET });
    run.end("failed", runcError(SECRET));
    const [result] = await eventually(async () => hub.of("job.result").length === 1 && hub.of("job.result"), { what: "its result" });
    expect(result!.outcome).toBe("failed");
    // Read before the hub's ack takes it out of the outbox.
    const outbox = await readFile(join(dir, "outbox.json"), "utf8").catch(() => "");
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_err", accepted: true });
    expect.soft(result!.error ?? "", "the result's error").not.toContain(SECRET);
    expect.soft(outbox, "the outbox").not.toContain(SECRET);
    expect.soft(JSON.stringify(logs), "the daemon's log").not.toContain(SECRET);
  });

  it("keeps a value a mediator's failed re-run quotes out of the daemon's log", async () => {
    daemonWith(silentOutbox());
    welcome();
    const spec = { ...offer("job_med").spec, secrets: ["HF_TOKEN"] };
    hub.emit("message", { v: 1, type: "job.mediate", job_id: "job_med", chain_job_id: `0x${"cd".repeat(32)}`, spec, outputs: { files: [], result_hash: `0x${"00".repeat(32)}` }, secrets: { HF_TOKEN: SECRET } } as never);
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the re-run" });
    expect(run!.request).toMatchObject({ secrets: { HF_TOKEN: SECRET } });
    run!.end("failed", runcError(SECRET));
    await eventually(async () => logs.some((l) => l.msg.includes("did not succeed")), { what: "the mediator's warning" });
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });

  it("re-runs a private image's job for a mediation with the registry password the hub sent, and keeps it out of the daemon's log", async () => {
    daemonWith(silentOutbox());
    welcome();
    const spec = { ...offer("job_med").spec, registry_auth: { username: "ci-bot" } };
    hub.emit("message", { v: 1, type: "job.mediate", job_id: "job_med", chain_job_id: `0x${"cd".repeat(32)}`, spec, outputs: { files: [], result_hash: `0x${"00".repeat(32)}` }, registry_password: SECRET } as never);
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the re-run" });
    expect(run!.request).toMatchObject({ registryCredentials: { username: "ci-bot", password: SECRET } });
    run!.end("failed", `could not get image: denied for ${SECRET}`);
    await eventually(async () => logs.some((l) => l.msg.includes("did not succeed")), { what: "the mediator's warning" });
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  });
});
