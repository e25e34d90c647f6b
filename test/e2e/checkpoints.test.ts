// A job that saves checkpoints survives losing its provider: real daemons, real
// Docker and `wrangler dev`. The first provider is killed (SIGKILL) after the job's
// first checkpoint is kept; past the grace the job is requeued, and the second
// provider puts that checkpoint back in /outputs/checkpoint before the job starts,
// so it goes on from the step it had saved instead of from the start.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../sdk/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import { TestProviders } from "../helpers/testProviders.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

// Long enough for a killed daemon to start again and keep its job; a lost one's job is requeued after it.
const GRACE_MS = 12_000;
const STEPS = 24;
let dev: WranglerDev;
let client: PondClient;
const providers = new TestProviders();

// One step a second; each step's state written under a temporary name and renamed into place, as the docs ask.
const countingTo = (steps: number) =>
  [
    'd="$POND_CHECKPOINT_DIR"',
    'n=$(cat "$d/step" 2>/dev/null || echo 0)',
    'echo "$n" > /outputs/resumed_from.txt',
    `while [ "$n" -lt ${steps} ]; do n=$((n + 1)); echo "$n" > "$d/step.tmp"; mv "$d/step.tmp" "$d/step"; sleep 1; done`,
    'echo "$n" > /outputs/final.txt',
  ].join("; ");
const counting = countingTo(STEPS);

const provider = (flags: string[]) => providers.start(dev.url, flags);

beforeAll(async () => {
  dev = await startWranglerDev({ PROVIDER_GRACE_MS: String(GRACE_MS), OFFER_TIMEOUT_MS: "3000" });
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
});

afterEach(async () => {
  await providers.removeAll();
});

afterAll(async () => {
  await dev?.stop();
});

describe("a job that saves checkpoints", () => {
  it("resumes on another provider from the checkpoint its first provider saved before it was killed", async () => {
    const first = await provider(["--cpu-second-wei", "1", "--max-cpus", "1", "--max-memory-mb", "1024"]);
    const created = await client.createJob(shellJob(counting, { timeout_s: 120, checkpoint: { interval_s: 10 } }));
    const saved = await eventually(async () => (await client.getJob(created.id)).checkpoint ?? false, { timeoutMs: 40_000, what: "the first checkpoint kept" });
    expect(saved).toMatchObject({ provider: first.address, attempt: 0 });
    expect(saved.files.map((file) => file.path)).toEqual(["step"]);
    expect(first.process.output()).toMatch(/checkpoint saved/);

    await first.stop("SIGKILL");
    const second = await provider(["--cpu-second-wei", "5", "--max-cpus", "1", "--max-memory-mb", "1024"]);
    const done = await client.waitForJob(created.id, { timeoutMs: 90_000 });
    expect(done.status).toBe("succeeded");
    expect(done.provider).toBe(second.address);
    expect(done.attempt).toBe(1);
    expect(second.process.output()).toMatch(/checkpoint restored/);

    const text = async (path: string) => new TextDecoder().decode(await client.downloadOutput(done.id, path)).trim();
    const resumedFrom = Number(await text("resumed_from.txt"));
    // At least the first save's step (it came 10 s into the run), never the start.
    expect(resumedFrom).toBeGreaterThanOrEqual(5);
    expect(resumedFrom).toBeLessThan(STEPS);
    expect(await text("final.txt")).toBe(String(STEPS));
    // What the job left in its checkpoint folder is an output like any other.
    expect(await text("checkpoint/step")).toBe(String(STEPS));
  });

  it("goes on saving after its daemon is killed (-9) and started again: the container is adopted, its checkpoints still kept", async () => {
    const first = await provider(["--max-cpus", "1", "--max-memory-mb", "1024"]);
    const steps = 45;
    const created = await client.createJob(shellJob(countingTo(steps), { timeout_s: 120, checkpoint: { interval_s: 10 } }));
    const before = await eventually(async () => (await client.getJob(created.id)).checkpoint ?? false, { timeoutMs: 40_000, what: "the first checkpoint kept" });
    await first.stop("SIGKILL");
    const again = await providers.restart(first);
    const after = await eventually(async () => {
      const current = (await client.getJob(created.id)).checkpoint;
      return current && current.saved_at > before.saved_at ? current : false;
    }, { timeoutMs: 40_000, what: "a checkpoint kept after the restart" });
    expect(after).toMatchObject({ provider: first.address, attempt: 0 });
    expect(after.files[0]!.sha256).not.toBe(before.files[0]!.sha256);
    expect(again.process.output()).toMatch(/adopting a container left running by an earlier run/);
    expect(again.process.output()).toMatch(/checkpoint saved/);

    const done = await client.waitForJob(created.id, { timeoutMs: 90_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.attempt).toBe(0);
    const text = async (path: string) => new TextDecoder().decode(await client.downloadOutput(done.id, path)).trim();
    // Never restarted: the container went on through the daemon's restart.
    expect(await text("resumed_from.txt")).toBe("0");
    expect(await text("final.txt")).toBe(String(steps));
  });

  it("saves nothing from a checkpoint folder the job made a link to the host's files, says why in its log, and the job is unharmed", async () => {
    await provider(["--max-cpus", "1", "--max-memory-mb", "1024"]);
    // Inside the container the link points at its own /etc; on the provider the same link would lead to the host's.
    const hostile = 'rm -rf /outputs/checkpoint; ln -s /etc /outputs/checkpoint; sleep 14; rm /outputs/checkpoint; echo done > /outputs/done.txt';
    const created = await client.createJob(shellJob(hostile, { timeout_s: 60, checkpoint: { interval_s: 10 } }));
    const done = await client.waitForJob(created.id, { timeoutMs: 60_000 });
    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(done.logs).toContain("[pond: checkpoint not saved: /outputs/checkpoint is not a folder (a link or a file where the folder was)]");
    expect(done.checkpoint).toBeNull();
    expect(done.output!.files.map((file) => file.path)).toEqual(["done.txt"]);
  });
});
