// The ML templates end to end, as a creator runs them with `pond`: the real PyTorch image
// (scripts/build-ml-image.sh, built here if this machine has not built it yet: minutes the first
// time), pushed to a local registry and pinned by digest, trains on a real provider; the trained
// model goes back in as an input to be evaluated and to label images. npm test runs this file on
// its own from the start (scripts/testSuites.ts), so the build overlaps the other suites.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodes } from "../../cli/exitCodes.ts";
import type { Job } from "../../protocol/job.ts";
import { ML_REPOSITORY, publishMlTemplates } from "../../scripts/localTemplates.ts";
import { PondClient } from "../../sdk/index.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { mlImageForTests } from "../helpers/mlImage.ts";
import { startRegistry, type LocalRegistry } from "../helpers/registry.ts";
import { eventually } from "../helpers/eventually.ts";
import { tsNode } from "../helpers/tsNode.ts";

const run = promisify(execFile);
const SAMPLE = "templates/ml/examples/digits-sample.csv";
/** A job here takes 10–60 s on a busy 2-core machine; four share the provider's two CPUs at once. */
const JOB_TEST_TIMEOUT_MS = 10 * 60_000;

let stack: ChainStack | undefined;
let registry: LocalRegistry | undefined;
let home: string;
let dir: string;
/** The image as this machine built it (not the registry's copy). */
let mlImage: string;

interface Metrics {
  accuracy: number;
  correct: number;
  total: number;
  loss_per_epoch: number[];
  params: Record<string, number>;
  threads: number;
  device: string;
}

/** Runs `pond --json …` as a creator would and returns the job it printed. */
async function pond(args: string[]): Promise<{ code: number; job: Job; stderr: string }> {
  let result: { code: number; stdout: string; stderr: string };
  try {
    result = { code: 0, ...(await run(...tsNode("cli/main.ts", ["--api", stack!.dev.url, "--json", ...args]), { env: { ...process.env, POND_HOME: home, NO_COLOR: "1" }, timeout: 600_000 })) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    result = { code: typeof failed.code === "number" ? failed.code : -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
  expect(result.stdout, `pond ${args.join(" ")} printed no job: ${result.stderr}`).not.toBe("");
  return { code: result.code, job: JSON.parse(result.stdout) as Job, stderr: result.stderr };
}

async function succeeds(args: string[]): Promise<Job> {
  const { code, job, stderr } = await pond(args);
  expect(code, `${job.status} ${job.status_detail ?? ""}\n${job.logs ?? ""}\n${stderr}`).toBe(0);
  expect(job.status).toBe("succeeded");
  return job;
}

/** The creator `pond login` made, as the SDK: to wait on detached jobs and read their outputs. */
async function creatorClient(): Promise<PondClient> {
  const { apiKey } = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { apiKey: string };
  return new PondClient({ baseUrl: stack!.dev.url, apiKey });
}

const readJson = async <T>(file: string) => JSON.parse(await readFile(file, "utf8")) as T;
const sha256 = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

/** The local network and a creator ready to pay: it does not need the image, so it comes up while the image builds. */
async function startNetwork(): Promise<void> {
  [stack, registry] = await Promise.all([startChainStack(), startRegistry()]);
  await stack.provider();
  for (const args of [["login"], ["faucet", "--rpc-url", stack.anvil.rpcUrl], ["deposit", "1", "--rpc-url", stack.anvil.rpcUrl]]) {
    await run(...tsNode("cli/main.ts", ["--api", stack.dev.url, ...args]), { env: { ...process.env, POND_HOME: home, NO_COLOR: "1" } });
  }
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "pond-ml-home-"));
  dir = await mkdtemp(join(tmpdir(), "pond-ml-out-"));
  // Both settle before either failure is thrown: the build is not left running behind a failed start.
  const [image, network] = await Promise.allSettled([mlImageForTests(), startNetwork()]);
  if (image.status === "rejected") throw image.reason;
  if (network.status === "rejected") throw network.reason;
  mlImage = image.value;
  await publishMlTemplates({ api: stack!.dev.url, registry: registry!, stateDir: home, localImage: image.value });
}, 40 * 60_000);

afterAll(async () => {
  await stack?.stop();
  // The pushed names would keep this build's image on disk after the next build replaces it.
  await registry?.forgetLocal(ML_REPOSITORY);
  await registry?.stop();
  for (const folder of [home, dir]) if (folder) await rm(folder, { recursive: true, force: true });
});

describe("pond/digits-train, -eval and -predict", () => {
  const trained = () => join(dir, "train");

  it("trains a model whose accuracy digits-eval, given its model.pt, reports the same", async () => {
    const job = await succeeds(["run", "pond/digits-train@1.1.0", "-p", "epochs=30", "--output", trained()]);
    expect(job.template).toBe("pond/digits-train@1.1.0");
    expect(job.logs).toMatch(/held-out accuracy 0\.\d+ \(\d+\/360\)/);
    const metrics = await readJson<Metrics>(join(trained(), "metrics.json"));
    expect(metrics).toMatchObject({ total: 360, device: "cpu", threads: 1, params: { epochs: 30, hidden: 64, lr: 0.001, batch_size: 32, seed: 0 } });
    expect(metrics.loss_per_epoch).toHaveLength(30);
    expect(metrics.loss_per_epoch.at(-1)!).toBeLessThan(metrics.loss_per_epoch[0]! / 10);
    // Chance is 10%: a model that learned the digits gets most of the held-out ones right.
    expect(metrics.accuracy).toBeGreaterThan(0.9);

    // The curve it reported while it ran (POND_METRICS lines) is the one its metrics.json keeps.
    const creator = await creatorClient();
    const reported = await eventually(async () => {
      const series = await creator.reportedMetrics(job.id);
      expect(series.series.loss?.points).toHaveLength(30);
      return series;
    });
    expect(reported.series.loss!.points.map((point) => [point.step, point.value])).toEqual(metrics.loss_per_epoch.map((loss, i) => [i + 1, loss]));
    expect(reported.series.val_accuracy!.points.at(-1)).toMatchObject({ step: 30, value: metrics.accuracy });
    expect(reported.ignored.lines).toBe(0);
    const latest = await eventually(async () => {
      const shown = await creator.getJob(job.id);
      expect(shown.reported_metrics?.loss?.step).toBe(30);
      return shown.reported_metrics!;
    });
    expect(latest.val_accuracy).toEqual({ step: 30, value: metrics.accuracy });
    const { stdout: table } = await run(...tsNode("cli/main.ts", ["--api", stack!.dev.url, "jobs", "metrics", job.id]), { env: { ...process.env, POND_HOME: home, NO_COLOR: "1" } });
    expect(table).toMatch(new RegExp(`^val_accuracy\\s+30\\s+${String(Number(metrics.accuracy.toPrecision(4))).replace(".", "\\.")}\\s`, "m"));

    const evaluation = await succeeds(["run", "pond/digits-eval@1.0.0", "--input", join(trained(), "model.pt"), "--output", join(dir, "eval")]);
    expect(evaluation.spec.input_files).toEqual([expect.objectContaining({ path: "model.pt", sha256: await sha256(join(trained(), "model.pt")) })]);
    const evaluated = await readJson<Metrics>(join(dir, "eval", "metrics.json"));
    expect({ accuracy: evaluated.accuracy, correct: evaluated.correct, total: evaluated.total }).toEqual({ accuracy: metrics.accuracy, correct: metrics.correct, total: metrics.total });
  }, JOB_TEST_TIMEOUT_MS);

  // These only read the first test's model: run side by side (the provider runs two 1-CPU jobs at once).
  describe.concurrent("with that model", () => {
    it("gives the same model and metrics for the same seed, and others for another seed", async () => {
      const [again, other] = [join(dir, "again"), join(dir, "seed1")];
      await Promise.all([
        succeeds(["run", "pond/digits-train@1.1.0", "-p", "epochs=30", "--output", again]),
        succeeds(["run", "pond/digits-train@1.1.0", "-p", "epochs=30", "-p", "seed=1", "--output", other]),
      ]);
      expect(await readFile(join(again, "metrics.json"), "utf8")).toBe(await readFile(join(trained(), "metrics.json"), "utf8"));
      expect(await sha256(join(again, "model.pt"))).toBe(await sha256(join(trained(), "model.pt")));

      const [first, second] = [await readJson<Metrics>(join(trained(), "metrics.json")), await readJson<Metrics>(join(other, "metrics.json"))];
      expect(second.params.seed).toBe(1);
      expect(second.loss_per_epoch).not.toEqual(first.loss_per_epoch);
    }, JOB_TEST_TIMEOUT_MS);

    it("sweeps the learning rate: one job a value, ranked by held-out accuracy, each one's outputs downloaded", async () => {
      const out = join(dir, "sweep");
      let result: { stdout: string; stderr: string };
      try {
        result = await run(...tsNode("cli/main.ts", ["--api", stack!.dev.url, "--json", "run", "pond/digits-train@1.1.0", "-p", "epochs=30", "--grid", "lr=0.001,0.1", "--metric", "accuracy", "--output", out]), { env: { ...process.env, POND_HOME: home, NO_COLOR: "1" }, timeout: 600_000 });
      } catch (error) {
        throw new Error(`the sweep failed: ${(error as { stderr?: string }).stderr}`);
      }
      const sweep = JSON.parse(result.stdout) as { best: string; jobs: Array<{ id: string; point: { lr: string }; status: string; metrics: { accuracy: number; loss: number } }> };
      expect(sweep.jobs.map((job) => [job.point.lr, job.status])).toEqual([["0.001", "succeeded"], ["0.1", "succeeded"]]);
      // lr=0.001 is the template's default: the same model as the first test's, so the same accuracy.
      expect(sweep.jobs[0]!.metrics.accuracy).toBe((await readJson<Metrics>(join(trained(), "metrics.json"))).accuracy);
      for (const job of sweep.jobs) {
        const downloaded = await readJson<Metrics & { params: { lr: number } }>(join(out, job.id, "metrics.json"));
        expect({ accuracy: downloaded.accuracy, lr: downloaded.params.lr }).toEqual({ accuracy: job.metrics.accuracy, lr: Number(job.point.lr) });
      }
      const best = sweep.jobs.reduce((a, b) => (b.metrics.accuracy > a.metrics.accuracy ? b : a));
      expect(sweep.best).toBe(best.id);
    }, JOB_TEST_TIMEOUT_MS);

    it("labels images with the trained model", async () => {
      const out = join(dir, "predict");
      await succeeds(["run", "pond/digits-predict@1.0.0", "--input", join(trained(), "model.pt"), "--input", SAMPLE, "--output", out]);
      const rows = (await readFile(join(out, "predictions.csv"), "utf8")).trim().split("\n");
      expect(rows[0]).toBe("row,label,probability");
      expect(rows).toHaveLength(21);
      for (const [i, row] of rows.slice(1).entries()) expect(row).toMatch(new RegExp(`^${i},[0-9],(0|1)\\.\\d{6}$`));
      // The sample carries its true labels (held-out images): the model gets most of them right.
      const metrics = await readJson<Metrics & { count: number }>(join(out, "metrics.json"));
      expect(metrics).toMatchObject({ count: 20, total: 20 });
      expect(metrics.correct).toBeGreaterThanOrEqual(16);
    }, JOB_TEST_TIMEOUT_MS);

    it("evaluates a model still being trained: created with --detach before training ends, the model from the training job's outputs, the same accuracy", async () => {
      const creator = await creatorClient();
      const detach = async (args: string[]) => {
        const { code, job, stderr } = await pond(["run", "--detach", ...args]);
        expect(code, stderr).toBe(0);
        return job;
      };
      // The most epochs the template takes (tens of seconds): the evaluation is created while it trains, which the test checks.
      const train = await detach(["pond/digits-train@1.1.0", "-p", "epochs=1000", "-p", "seed=2"]);
      const evaluation = await detach(["pond/digits-eval@1.0.0", "--input", `${train.id}:model.pt`]);
      expect(evaluation).toMatchObject({ status: "queued", resolved_input_files: null });
      const [trained, evaluated] = await Promise.all([train, evaluation].map((job) => creator.waitForJob(job.id, { timeoutMs: JOB_TEST_TIMEOUT_MS, intervalMs: 1000 })));
      expect(trained!.status, trained!.error ?? "").toBe("succeeded");
      expect(evaluated!.status, `${evaluated!.error} ${evaluated!.logs}`).toBe("succeeded");
      // Created before training ended, and detached: the creator's machine was never on the model's path.
      expect(Date.parse(evaluation.created_at)).toBeLessThan(Date.parse(trained!.completed_at!));

      const metricsOf = async (id: string) => JSON.parse(new TextDecoder().decode(await creator.downloadOutput(id, "metrics.json"))) as Metrics;
      const [own, reported] = await Promise.all([metricsOf(train.id), metricsOf(evaluation.id)]);
      expect(own.accuracy).toBeGreaterThan(0.9);
      expect({ accuracy: reported.accuracy, correct: reported.correct, total: reported.total }).toEqual({ accuracy: own.accuracy, correct: own.correct, total: own.total });

      const model = trained!.output!.files.find((file) => file.path === "model.pt")!;
      expect(evaluated!.resolved_input_files).toEqual([{ path: "model.pt", size: model.size, sha256: model.sha256, from: { job: train.id, output: "model.pt" } }]);
      // Fetched by the eval's provider from where the model was: the training job's outputs in R2, or, on the
      // provider that trained it, the input cache it kept the model in (then nothing moved at all).
      const inputs = evaluated!.metrics.transfer.inputs!;
      if (inputs.route === "cache") expect({ provider: evaluated!.provider, cached_bytes: inputs.cached_bytes }).toEqual({ provider: trained!.provider, cached_bytes: model.size });
      else expect(inputs).toMatchObject({ route: "outputs", bytes: model.size });
    }, JOB_TEST_TIMEOUT_MS);

    it("resumes training from the state in its checkpoint folder, ending with the model and metrics an unbroken run makes", async () => {
      // The container as Pond runs a checkpointing job (POND_CHECKPOINT_DIR in /outputs), here by Docker alone so the
      // test can take the state mid-run, as a provider lost then would have left it for the next one.
      const folders = Object.fromEntries(await Promise.all(["unbroken", "resumed", "state"].map(async (name) => [name, await mkdtemp(join(dir, `${name}-`))] as const)));
      await run("chmod", ["777", ...Object.values(folders)]);
      const train = (outputs: string) => [
        "run", "--rm", "--network", "none", "--cpus", "1", "--user", "65534:65534", "-e", "POND_CHECKPOINT_DIR=/outputs/checkpoint", "-v", `${outputs}:/outputs`,
        mlImage, "python3", "/opt/pond/digits/train.py", "--epochs", "400", "--seed", "3",
      ];
      const unbroken = run("docker", train(folders.unbroken!), { timeout: 300_000 });
      // Taken while it trains (written every 2 s, each time renamed into place whole).
      const state = join(folders.unbroken!, "checkpoint", "training.pt");
      let taken = false;
      const watching = (async () => {
        for (let waited = 0; waited < 300_000 && !taken; waited += 100) {
          taken = await run("cp", [state, join(folders.state!, "training.pt")]).then(() => true, () => false);
          if (!taken) await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      await unbroken;
      await watching;
      expect(taken, "no training state was saved while 400 epochs trained").toBe(true);
      // Left behind by an unbroken run: model.pt is the result.
      await expect(readFile(state)).rejects.toThrow(/ENOENT/);

      await run("mkdir", ["-m", "777", join(folders.resumed!, "checkpoint")]);
      await run("cp", [join(folders.state!, "training.pt"), join(folders.resumed!, "checkpoint", "training.pt")]);
      await run("chmod", ["666", join(folders.resumed!, "checkpoint", "training.pt")]);
      const resumed = await run("docker", train(folders.resumed!), { timeout: 300_000 });
      expect(resumed.stdout).toMatch(/resuming after epoch \d+ from the checkpoint/);
      expect(await readFile(join(folders.resumed!, "metrics.json"), "utf8")).toBe(await readFile(join(folders.unbroken!, "metrics.json"), "utf8"));
      expect(await sha256(join(folders.resumed!, "model.pt"))).toBe(await sha256(join(folders.unbroken!, "model.pt")));
    }, JOB_TEST_TIMEOUT_MS);

    it("fails a run without a model, saying to send one", async () => {
      const { code, job } = await pond(["run", "pond/digits-eval@1.0.0"]);
      expect(code).toBe(exitCodes.jobUnsuccessful);
      expect(job).toMatchObject({ status: "failed", exit_code: 2 });
      expect(job.logs).toMatch(/error: no model file \(\.pt or \.pth\) in \/inputs: send one with --input/);
    }, JOB_TEST_TIMEOUT_MS);
  });
});
