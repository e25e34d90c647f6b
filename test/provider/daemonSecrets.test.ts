// A job with secret variables (or a private image's registry password), against the daemon's stand-in hub and executor: it
// waits for the hub's start (which carries the values), runs with them, masks them
// in the log it forwards, and never writes them where the daemon keeps things.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SECRET_MASK } from "../../provider/executor/secretMask.ts";
import { jobWorkDir } from "../../provider/workDir.ts";
import { eventually } from "../helpers/eventually.ts";
import { accepted, daemonWith, dir, executor, hub, logs, offer, silentOutbox, useDaemonStandIns, welcome } from "./daemonStandIns.ts";

useDaemonStandIns();

const SECRET = "hf_s3cr3tValueThatMustNotLeak";
const withSecrets = () => ({ spec: { ...offer("job_secret").spec, secrets: ["HF_TOKEN"] } });

/** Every file under `folder`, read as text. */
async function everythingUnder(folder: string): Promise<string> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
  return (await Promise.all(files.map((file) => readFile(file, "utf8")))).join("\n");
}

describe("a job with secrets", () => {
  it("waits for the hub's start, runs with the values it carries, masks them in its log, and keeps them off disk and out of the daemon's log", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_secret", withSecrets());
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Not made ahead: its container needs the values, which only the start brings.
    expect(executor.prepared).toEqual([]);
    expect(executor.runs).toEqual([]);

    hub.emit("message", { v: 1, type: "job.start", job_id: "job_secret", secrets: { HF_TOKEN: SECRET } });
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the job started" });
    expect(run!.request.secrets).toEqual({ HF_TOKEN: SECRET });

    run!.hooks.onLog(`loading with token=${SECRET} and again ${SECRET}\n`);
    const forwarded = await eventually(async () => {
      const text = hub.of("job.log").map((m) => m.data).join("");
      return text.includes("loading") && text;
    }, { what: "the log forwarded" });
    expect(forwarded).toBe(`loading with token=${SECRET_MASK} and again ${SECRET_MASK}\n`);

    expect(await everythingUnder(jobWorkDir(dir, "job_secret"))).not.toContain(SECRET);
    run!.end("succeeded");
    await eventually(async () => hub.of("job.result").length === 1, { what: "its result" });
    expect(JSON.stringify(hub.sent)).not.toContain(SECRET);
    expect(await everythingUnder(dir)).not.toContain(SECRET);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_secret", accepted: true });
  });

  it("fails, saying why, when the hub's start carries no values for them", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_secret", withSecrets());
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_secret" });
    const [result] = await eventually(async () => hub.of("job.result").length === 1 && hub.of("job.result"), { what: "its result" });
    expect(result).toMatchObject({ outcome: "failed" });
    expect(result!.error).toContain("carried no values for the job's secrets");
    expect(executor.runs).toEqual([]);
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_secret", accepted: true });
  });
});

describe("a job whose image is private (registry_auth)", () => {
  const PASSWORD = "ghp_registryPasswordThatMustNotLeak";
  const withRegistryAuth = () => ({ spec: { ...offer("job_private").spec, registry_auth: { username: "ci-bot" } } });

  it("waits for the hub's start, runs with the user and the password it carries, and keeps the password off disk, off the hub and out of the log", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_private", withRegistryAuth());
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Not made ahead: the image is pulled, or its copy here checked, with the password only the start brings.
    expect(executor.prepared).toEqual([]);
    expect(executor.runs).toEqual([]);

    hub.emit("message", { v: 1, type: "job.start", job_id: "job_private", registry_password: PASSWORD });
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the job started" });
    expect(run!.request.registryCredentials).toEqual({ username: "ci-bot", password: PASSWORD });
    expect(run!.request.secrets).toBeUndefined();
    run!.end("succeeded");
    await eventually(async () => hub.of("job.result").length === 1, { what: "its result" });
    expect(JSON.stringify(hub.sent)).not.toContain(PASSWORD);
    expect(await everythingUnder(dir)).not.toContain(PASSWORD);
    expect(JSON.stringify(logs)).not.toContain(PASSWORD);
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_private", accepted: true });
  });

  it("fails, saying why, when the hub's start carries no password", async () => {
    daemonWith(silentOutbox());
    welcome();
    await accepted("job_private", withRegistryAuth());
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_private", secrets: { OTHER: "value" } });
    const [result] = await eventually(async () => hub.of("job.result").length === 1 && hub.of("job.result"), { what: "its result" });
    expect(result).toMatchObject({ outcome: "failed" });
    expect(result!.error).toContain("carried no password for the job's registry_auth");
    expect(executor.runs).toEqual([]);
    hub.emit("message", { v: 1, type: "job.result.ack", job_id: "job_private", accepted: true });
  });
});
