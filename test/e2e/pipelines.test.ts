// Pipelines end to end, as a creator runs them with `pond`: a job whose input is
// an earlier job's output, created with --detach before that job ends, so the
// creator's machine is gone by the time the bytes move. Real wrangler dev settling
// on anvil, a staked provider on the Docker engine (its input cache off, so the
// output must come from the source job's outputs in R2, not from what it kept),
// and last a second provider that gets such an output peer to peer from the first.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodes } from "../../cli/exitCodes.ts";
import type { Job } from "../../protocol/job.ts";
import { PondClient } from "../../sdk/index.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { containersOfJob, TEST_IMAGE } from "../helpers/docker.ts";
import { eventually } from "../helpers/eventually.ts";
import { runPond } from "../helpers/pondCli.ts";
import type { ProviderProcess } from "../helpers/providerProcess.ts";

const BUSYBOX = ["--image", TEST_IMAGE, "--cpus", "0.5", "--memory", "64", "--timeout", "120"];
/** Long enough that the dependent job is created (a CLI start on a loaded machine) before the source ends; the test checks it was. */
const SOURCE_WORK_S = 20;

let stack: ChainStack;
/** The provider the sources run on. */
let firstProvider: ProviderProcess;
let home: string;
let client: PondClient;

const pond = (args: string[]) => runPond(args, { home, api: stack.dev.url });

/** `pond --json run --detach …`: the job as created. */
async function detached(args: string[]): Promise<Job> {
  const result = await pond(["--json", "run", "--detach", ...args]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Job;
}

const finished = (id: string) => client.waitForJob(id, { timeoutMs: 240_000, intervalMs: 500 });

beforeAll(async () => {
  stack = await startChainStack();
  home = await mkdtemp(join(tmpdir(), "pond-pipelines-home-"));
  // One CPU: a job asking for more goes to the second provider a test starts.
  firstProvider = await stack.provider(["--input-cache-mb", "0", "--max-cpus", "1"]);
  for (const args of [["login"], ["faucet", "--rpc-url", stack.anvil.rpcUrl], ["deposit", "1", "--rpc-url", stack.anvil.rpcUrl]]) {
    const result = await pond(args);
    expect(result.code, result.stderr).toBe(0);
  }
  // The test reads jobs as the creator, with the key `pond login` made.
  const { apiKey } = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { apiKey: string };
  client = new PondClient({ baseUrl: stack.dev.url, apiKey });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
});

describe("a job whose input is another job's output", () => {
  it("waits for a source still running, then gets its output from the source's outputs, the creator long gone", async () => {
    const source = await detached([...BUSYBOX, "--", "sh", "-c", `sleep ${SOURCE_WORK_S}; head -c 3000000 /dev/urandom > /outputs/model.pt; echo trained`]);
    const dependent = await detached([...BUSYBOX, "--input", `${source.id}:model.pt`, "--", "sha256sum", "/inputs/model.pt"]);
    expect(dependent).toMatchObject({ status: "queued", resolved_input_files: null, status_detail: expect.stringContaining(`waiting for ${source.id} (for model.pt) to finish`) });
    // As signed: the output named, its bytes not known yet.
    expect(dependent.spec.input_files).toEqual([{ path: "model.pt", from: { job: source.id, output: "model.pt" } }]);

    // While it runs, all of its outputs cannot be named (their list is not known), and a job not yours is not found.
    const whole = await pond(["run", ...BUSYBOX, "--input", source.id, "--", "ls", "/inputs"]);
    expect(whole.code).toBe(exitCodes.usage);
    expect(whole.stderr).toContain(`${source.id} has not finished, so its outputs are not known yet; name the one you want, e.g. --input ${source.id}:model.pt`);
    const unknown = await pond(["run", ...BUSYBOX, "--input", "job_00000000000000000000000000:model.pt", "--", "ls"]);
    expect(unknown.code).toBe(exitCodes.usage);
    expect(unknown.stderr).toContain("there is no job job_00000000000000000000000000 of yours");

    const [made, used] = await Promise.all([finished(source.id), finished(dependent.id)]);
    expect(made.status, made.error ?? "").toBe("succeeded");
    // Created with --detach before the source ended: nothing of the creator's was there to send the bytes.
    expect(Date.parse(dependent.created_at)).toBeLessThan(Date.parse(made.completed_at!));
    const model = made.output!.files.find((file) => file.path === "model.pt")!;
    expect(used.status, `${used.error} ${used.logs}`).toBe("succeeded");
    expect(used.logs).toContain(`${model.sha256}  /inputs/model.pt`);
    expect(used.resolved_input_files).toEqual([{ path: "model.pt", size: model.size, sha256: model.sha256, from: { job: source.id, output: "model.pt" } }]);
    expect(used.metrics.transfer.inputs).toMatchObject({ route: "outputs", bytes: model.size });
    // Paid from escrow like any job: its authorization's deadline covered the wait.
    expect(used.settlement).not.toMatch(/none|unfunded/);

    // Now finished, all of its outputs may be named at once, beside a file of the creator's (sent peer to peer while
    // `pond run` follows the job): each from where it is, side by side.
    const notes = join(home, "notes.txt");
    await writeFile(notes, "hello\n");
    const both = await pond(["--json", "run", ...BUSYBOX, "--input", source.id, "--input", notes, "--", "sh", "-c", "ls /inputs; cat /inputs/notes.txt"]);
    expect(both.code, both.stderr).toBe(0);
    const mixed = JSON.parse(both.stdout) as Job;
    expect(mixed.logs).toBe("model.pt\nnotes.txt\nhello\n");
    expect(mixed.metrics.transfer.inputs).toMatchObject({ route: "outputs", bytes: model.size + "hello\n".length });
  });

  it("survives wrangler dev killed (SIGKILL) while it waits: its source's result, made meanwhile, still hands it over after the restart", async () => {
    const source = await detached([...BUSYBOX, "--", "sh", "-c", `sleep ${SOURCE_WORK_S}; echo weights > /outputs/model.pt`]);
    const dependent = await detached([...BUSYBOX, "--input", `${source.id}:model.pt`, "--", "cat", "/inputs/model.pt"]);
    await client.waitForJob(source.id, { timeoutMs: 120_000, intervalMs: 500, until: (job) => job.status === "processing" });
    await stack.dev.kill();
    // The source's container ends while the Worker is down: its result waits in the daemon's outbox.
    await eventually(async () => (await containersOfJob(source.id)).every((container) => container.State !== "running"), { what: "the source's container to exit", timeoutMs: 120_000, intervalMs: 500 });
    stack.dev = await stack.dev.restart();
    const used = await eventually(async () => {
      // The sweeper runs as the cron would: it is the backstop for anything an announcement missed.
      await stack.dev.runCron();
      const job = await client.getJob(dependent.id);
      return (job.status === "succeeded" || job.status === "failed") && job;
    }, { what: "the dependent job to end", timeoutMs: 180_000, intervalMs: 1_000 });
    expect(used.status, `${used.error} ${used.logs}`).toBe("succeeded");
    expect(used.logs).toBe("weights\n");
    expect(used.metrics.transfer.inputs).toMatchObject({ route: "outputs", bytes: "weights\n".length });
  });

  it("fails when its source fails, saying which input and why", async () => {
    const source = await detached([...BUSYBOX, "--", "sh", "-c", `sleep ${SOURCE_WORK_S}; echo 'loss is NaN' >&2; exit 7`]);
    const dependent = await detached([...BUSYBOX, "--input", `${source.id}:model.pt`, "--", "ls", "/inputs"]);
    const [failedSource, failed] = await Promise.all([finished(source.id), finished(dependent.id)]);
    expect(failedSource).toMatchObject({ status: "failed", exit_code: 7 });
    expect(Date.parse(dependent.created_at)).toBeLessThan(Date.parse(failedSource.completed_at!));
    expect(failed).toMatchObject({ status: "failed", provider: null, error: `its input model.pt comes from ${source.id}, which failed: ${failedSource.error}` });

    // And a job made now from that failed one is refused before it is created.
    const refused = await pond(["run", ...BUSYBOX, "--input", `${source.id}:model.pt`, "--", "ls"]);
    expect(refused.code).toBe(exitCodes.usage);
    expect(refused.stderr).toContain(`${source.id} failed (${failedSource.error}); only a succeeded job's outputs can be inputs`);
  });
  it("gets its input peer to peer from the provider that made it when another provider runs it, and from R2 once that one is gone", async () => {
    const made = await finished((await detached([...BUSYBOX, "--", "sh", "-c", "head -c 5000000 /dev/urandom > /outputs/model.pt; echo '{}' > /outputs/metrics.json"])).id);
    expect(made.provider).toBe(firstProvider.address);
    const model = made.output!.files.find((file) => file.path === "model.pt")!;
    // Room for the next job on this one only; no input cache, so the second run below moves the bytes again.
    const other = await stack.provider(["--input-cache-mb", "0", "--max-cpus", "2"]);
    const consume = async () => {
      const result = await pond(["--json", "run", "--image", TEST_IMAGE, "--cpus", "1.5", "--memory", "64", "--timeout", "120", "--input", `${made.id}:model.pt`, "--", "sha256sum", "/inputs/model.pt"]);
      expect(result.code, result.stderr).toBe(0);
      const job = JSON.parse(result.stdout) as Job;
      expect(job.provider).toBe(other.address);
      expect(job.logs).toContain(`${model.sha256}  /inputs/model.pt`);
      return job;
    };
    // Only the output named moved (not metrics.json), straight from the provider that kept it.
    expect((await consume()).metrics.transfer.inputs).toMatchObject({ route: "direct", bytes: model.size });
    await firstProvider.stop("SIGTERM");
    expect((await consume()).metrics.transfer.inputs).toMatchObject({ route: "outputs", bytes: model.size });
  });
});
