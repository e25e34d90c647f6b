// Fault: a provider daemon killed with kill -9 (its whole process group) in the
// middle of a job. Back within the hub's grace period it re-adopts the running
// container and the job finishes once, on its first attempt, with one run in
// its logs; back after it, the job has been requeued and finished on another
// provider, and the first container is stopped and gone (a private image's job too, its
// password coming again with the next provider's start). Real `wrangler dev`,
// real daemons, real Docker; asserted on the final state.
import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../../sdk/index.ts";
import { containersOfJob, docker, imageOfItsOwn } from "../../helpers/docker.ts";
import { startRegistry } from "../../helpers/registry.ts";
import { eventually } from "../../helpers/eventually.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../../helpers/providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "../../helpers/wranglerDev.ts";

/** Long enough for a daemon to start again on a busy machine, short enough to wait out. */
const GRACE_MS = 20_000;
/** Longer than the grace: a first container left alone would still be running when the grace ends. */
const TICKS = 30;
let dev: WranglerDev;
let client: PondClient;
const started: ProviderProcess[] = [];

/** Prints "tick 0" … "tick 29", one a second, then leaves an output. */
const ticking = shellJob(`i=0; while [ $i -lt ${TICKS} ]; do echo "tick $i"; i=$((i+1)); sleep 1; done; echo done > /outputs/done.txt`, { timeout_s: 120 });

async function provider(flags: string[]): Promise<ProviderProcess> {
  const p = await startProvider(dev.url, ["--max-cpus", "1", "--max-memory-mb", "1024", ...flags]);
  started.push(p);
  return p;
}

async function restarted(p: ProviderProcess): Promise<ProviderProcess> {
  const again = await p.restart();
  started.push(again);
  return again;
}

async function transitions(id: string) {
  return ((await client.request("GET", `/v1/jobs/${id}/transitions`)) as { results: Array<{ to: string; detail: string | null }> }).results;
}

/** What the container printed so far, from Docker's own log (the daemon may be dead meanwhile). */
async function containerPrinted(jobId: string): Promise<string> {
  const [info] = await containersOfJob(jobId);
  if (!info) return "";
  return ((await docker.getContainer(info.Id).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer).toString();
}

/** The job folders a daemon has on disk. */
const jobFolders = (p: ProviderProcess) => readdir(join(p.dataDir, "jobs")).catch(() => []);

beforeAll(async () => {
  dev = await startWranglerDev({ HUB_SHARDS: "3", PROVIDER_GRACE_MS: String(GRACE_MS), OFFER_TIMEOUT_MS: "3000" });
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
});

afterEach(async () => {
  // The latest first: a restarted daemon shares its data folder with the handle it replaced.
  for (const p of started.splice(0).reverse()) await p.remove();
});

afterAll(async () => {
  await dev?.stop();
});

describe("a provider killed with kill -9 mid-job", () => {
  it("back within the grace period: re-adopts the container; the job finishes once, attempt 0, one run in its logs", async () => {
    const first = await provider([]);
    const created = await client.createJob(ticking);
    await eventually(async () => (await client.getJob(created.id)).logs?.includes("tick 5"), { timeoutMs: 60_000, what: "5 s into the job" });

    await first.stop("SIGKILL");
    // The container carries on without its daemon; start it again ~2 s later.
    await eventually(async () => (await containerPrinted(created.id)).includes("tick 7"), { timeoutMs: 30_000, what: "2 s more of the job" });
    const again = await restarted(first);
    expect(again.address).toBe(first.address);

    const done = await client.waitForJob(created.id, { timeoutMs: 90_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.provider).toBe(first.address);
    expect(done.attempt).toBe(0);
    expect((await transitions(created.id)).map((t) => t.to)).toEqual(["queued", "starting", "processing", "succeeded"]);
    // One run: every tick once, those printed while the daemon was dead included.
    for (let i = 0; i < TICKS; i++) expect(done.logs!.match(new RegExp(`^tick ${i}$`, "gm")), `tick ${i}`).toHaveLength(1);
    expect(new TextDecoder().decode(await client.downloadOutput(done.id, "done.txt"))).toBe("done\n");
    expect(again.process.output()).toMatch(/adopting a container left running by an earlier run/);
    await eventually(async () => (await containersOfJob(created.id)).length === 0, { what: "the container to be removed" });
    await eventually(async () => (await jobFolders(again)).length === 0, { what: "the job's folder to be removed" });
  });

  it("back after the grace period: the job was requeued and finished elsewhere; the first container is stopped, then gone", async () => {
    const first = await provider(["--cpu-second-wei", "1"]);
    const backup = await provider(["--cpu-second-wei", "5"]);
    const created = await client.createJob(ticking);
    const running = await client.waitForJob(created.id, { until: (j) => j.status === "processing", timeoutMs: 60_000 });
    expect(running.provider).toBe(first.address);
    await eventually(async () => (await client.getJob(created.id)).logs?.includes("tick 2"), { timeoutMs: 60_000, what: "the job to be under way" });

    await first.stop("SIGKILL");
    const done = await client.waitForJob(created.id, { timeoutMs: 150_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.provider).toBe(backup.address);
    expect(done.attempt).toBe(1);
    const path = await transitions(created.id);
    expect(path.map((t) => t.to)).toEqual(["queued", "starting", "processing", "queued", "starting", "processing", "succeeded"]);
    expect(path[3]!.detail).toMatch(new RegExp(`disconnected and did not come back within ${GRACE_MS / 1000} s; requeued`));

    // Its watchdog killed the first container once the daemon had been gone past the grace,
    // before the job could end there: it did not run on to its last tick.
    const firstContainer = async () => (await containersOfJob(created.id)).filter((c) => c.Labels["dev.pond.provider"] === first.address);
    const [left] = await firstContainer();
    expect(left).toBeDefined();
    const state = (await docker.getContainer(left!.Id).inspect()).State;
    expect(state.Running).toBe(false);
    expect(state.ExitCode).not.toBe(0);
    expect(((await docker.getContainer(left!.Id).logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer).toString()).not.toContain(`tick ${TICKS - 1}`);
    // Back, it adopts the stopped container and finds the job is no longer its own
    // (canceled by the hub, or its result refused, whichever comes first): the container goes.
    const again = await restarted(first);
    await eventually(async () => (await firstContainer()).length === 0, { timeoutMs: 30_000, what: "the first container to be removed" });
    expect(again.process.output()).toMatch(/adopting a container left running by an earlier run/);
    await again.process.waitFor(/job canceled by the hub|result refused by the hub/, 30_000);
    // Its folder, outputs and all, goes with it.
    await eventually(async () => (await jobFolders(again)).length === 0, { what: "the first provider's job folder to be removed" });
    expect((await client.getJob(created.id)).status).toBe("succeeded");
  });

  it("a private image: requeued after the kill, the next provider runs it with the password its start carries; the first, back, still refuses its copy to a job without it", async () => {
    const password = `reg_${randomUUID()}`;
    const registry = await startRegistry({ alice: password });
    const source = await imageOfItsOwn(`restart-${process.pid}`);
    const image = await registry.push(source, "alice/ticking", "1", { auth: { username: "alice", password }, removeLocal: true });
    await docker.getImage(source).remove();
    try {
      const first = await provider(["--cpu-second-wei", "1"]);
      const backup = await provider(["--cpu-second-wei", "5"]);
      const created = await client.createJob({ ...ticking, image, registry_auth: { username: "alice" }, registry_password: password });
      const running = await client.waitForJob(created.id, { until: (j) => j.status === "processing", timeoutMs: 60_000 });
      expect(running.provider).toBe(first.address);
      await first.stop("SIGKILL");
      const done = await client.waitForJob(created.id, { timeoutMs: 150_000 });
      expect(done, done.error ?? "").toMatchObject({ status: "succeeded", provider: backup.address, attempt: 1 });

      // Back from the kill, its ledger (on disk before the pull) still owns the copy: a job without the password fails.
      // The backup goes first: it shares this machine's engine, but not the first daemon's ledger (docs/providers.md).
      await backup.stop("SIGKILL");
      const again = await restarted(first);
      const anonymous = await client.waitForJob((await client.createJob({ ...shellJob("echo should-not-run"), image })).id, { timeoutMs: 60_000 });
      expect(anonymous.provider).toBe(again.address);
      expect(anonymous).toMatchObject({ status: "failed", error: `could not get image ${image}: the registry did not let this job read ${image} (asked without registry_auth)` });
      expect(anonymous.logs ?? "").not.toContain("should-not-run");
      expect(`${first.process.output()}${again.process.output()}${backup.process.output()}`).not.toContain(password);
    } finally {
      await docker.getImage(image).remove({ force: true }).catch(() => undefined);
      await registry.stop();
    }
  });
});
