// Sweeps end to end, as a creator runs them with `pond run … --grid` against a local
// network (test/helpers/cliNetwork.ts): jobs paid from escrow on anvil and run by a
// real provider. A point that fails among honest ones, a template's parameters, a
// local input served to every job, two sweeps racing for one escrow (each created
// whole or refused whole: one batch create), a sweep at its
// limit, and a sweep read back and canceled by its id.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exitCodes } from "../../cli/exitCodes.ts";
import type { Job } from "../../protocol/job.ts";
import { printedJson as json, startCliNetwork, type CliNetwork } from "../helpers/cliNetwork.ts";
import { eventually } from "../helpers/eventually.ts";

let network: CliNetwork;
const pond = (args: string[]) => network.pond(args);

beforeAll(async () => {
  network = await startCliNetwork("sweeps");
}, 240_000);

afterAll(async () => {
  await network?.stop();
});

describe("sweeps", () => {
  const busybox = ["--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128"];
  /** The account's newest job: unchanged by a command that created nothing. */
  const newestJob = async () => json<{ results: Job[] }>(await pond(["--json", "jobs", "list", "--limit", "1"])).results[0]?.id;

  it("runs one job a point of a grid, ranks them by their metrics, names the one that failed, and reads the sweep back", async () => {
    // X=2 exits 3 after writing its metrics: one bad point among honest ones.
    const script = 'printf \'{"score": %s, "loss": %s}\' "$X" "$((10 - X))" > /outputs/metrics.json; [ "$X" != 2 ] || exit 3';
    const ran = await pond(["run", ...busybox, "--grid", "X=1,2,3", "--label", "experiment=e2e", "--metric", "score", "--", "sh", "-c", script]);
    expect(ran.code, ran.stderr).toBe(exitCodes.jobUnsuccessful);
    const sweep = /sweep (swp_[0-9a-f]{10}): 2 of 3 succeeded/.exec(ran.stdout)?.[1];
    expect(sweep, ran.stdout).toBeDefined();
    expect(ran.stdout).toMatch(/^\* +job_\w+ +3 +succeeded +3 +7$/m);
    expect(ran.stdout).toMatch(/^ {2}job_\w+ \(X=2\) failed/m);
    expect(ran.stdout).toMatch(/^best by score \(highest\): job_\w+ \(X=3\): score 3$/m);

    // One job failed, so reading the sweep back exits 1 too, its JSON printed all the same.
    const show = await pond(["--json", "sweep", "show", sweep!, "--metric", "loss", "--minimize"]);
    expect(show.code).toBe(exitCodes.jobUnsuccessful);
    const shown = JSON.parse(show.stdout) as { jobs: Array<{ id: string; point: Record<string, string>; status: string; metrics: Record<string, number> | null }>; best: string };
    expect(shown.jobs.map((j) => [j.point, j.status, j.metrics])).toEqual([
      [{ X: "1" }, "succeeded", { score: 1, loss: 9 }],
      [{ X: "2" }, "failed", null],
      [{ X: "3" }, "succeeded", { score: 3, loss: 7 }],
    ]);
    expect(shown.best).toBe(shown.jobs[2]!.id);
    const listed = json<{ results: Job[] }>(await pond(["--json", "jobs", "list", "--label", `pond.sweep=${sweep}`, "--label", "experiment=e2e"]));
    expect(listed.results.map((job) => job.labels["pond.sweep/X"]).sort()).toEqual(["1", "2", "3"]);
    expect(listed.results[0]!.spec).not.toHaveProperty("labels");
  });

  it("runs a random search from a seed, ranks it, and draws the same points again from the same seed", async () => {
    const script = 'printf \'{"score": %s}\' "$((X * 10 + Y))" > /outputs/metrics.json';
    const search = ["--sample", "X=int:1,9", "--sample", "Y=choice:1,2", "--trials", "3", "--seed", "5"];
    const ran = await pond(["run", ...busybox, ...search, "--metric", "score", "--", "sh", "-c", script]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stderr).toMatch(/3 jobs \(3 trials of X int 1\.\.9, Y from 1\|2; seed 5\)/);
    const sweep = /sweep (swp_[0-9a-f]{10}): 3 of 3 succeeded \(drawn with --seed 5\)/.exec(ran.stdout)?.[1];
    expect(sweep, ran.stdout).toBeDefined();
    const shown = JSON.parse((await pond(["--json", "sweep", "show", sweep!, "--metric", "score"])).stdout) as { jobs: Array<{ id: string; point: Record<string, string>; metrics: Record<string, number> }>; best: string; seed: number };
    // Read back from anywhere, the sweep still says what drew it.
    expect(shown.seed).toBe(5);
    // Each job ran with the values it was labelled with, and the best is the highest.
    for (const job of shown.jobs) expect(job.metrics.score).toBe(Number(job.point.X) * 10 + Number(job.point.Y));
    const best = shown.jobs.reduce((a, b) => (b.metrics.score! > a.metrics.score! ? b : a));
    expect(shown.best).toBe(best.id);
    // The same seed draws the same points; the detached sweep says its seed for a script.
    const again = json<{ sweep: string; seed: number; jobs: Job[] }>(await pond(["--json", "run", ...busybox, ...search, "--detach", "--", "sleep", "600"]));
    expect(again.seed).toBe(5);
    expect(again.jobs.map((job) => [job.labels["pond.sweep/X"], job.labels["pond.sweep/Y"]])).toEqual(shown.jobs.map((job) => [job.point.X, job.point.Y]));
    expect((await pond(["sweep", "cancel", again.sweep])).code).toBe(0);
    // So does a waited sweep's --json, with its results.
    const waited = json<{ seed: number; jobs: Array<{ point: Record<string, string> }> }>(await pond(["--json", "run", ...busybox, ...search, "--metric", "score", "--", "sh", "-c", script]));
    expect(waited.seed).toBe(5);
    expect(waited.jobs.map((job) => job.point)).toEqual(shown.jobs.map((job) => job.point));
    expect((await pond(["run", ...busybox, "--trials", "3", "--", "true"])).stderr).toMatch(/--trials belong to a sweep/);
  });

  it("quotes a sweep with --dry-run: its points, the market, and the most it could cost together, creating nothing", async () => {
    const before = await newestJob();
    const asked = ["run", ...busybox, "--sample", "X=int:1,9", "--grid", "Y=a,b", "--trials", "2", "--dry-run"];
    const said = await pond([...asked, "--", "true"]);
    expect(said.code, said.stderr).toBe(0);
    expect(said.stdout).toMatch(/a sweep of 4 jobs \(2 Y, 2 trials of X int 1\.\.9 each; seed \d+\), nothing created/);
    expect(said.stdout).toMatch(/^ +4 +Y=b, X=\d$/m);
    expect(said.stdout).toMatch(/together: at most [\d.]+ ETH at the rate offered now, if every job ran its whole timeout; your escrow has [\d.]+ ETH free/);
    const seed = Number(/run it with --seed (\d+) to draw these points/.exec(said.stdout)?.[1]);
    const quoted = json<{ jobs: number; seed: number; points: Array<Record<string, string>>; quote: { max_cost_wei: string }; max_cost_wei: string }>(await pond(["--json", ...asked, "--seed", String(seed), "--", "true"]));
    expect(quoted.jobs).toBe(4);
    expect(quoted.seed).toBe(seed);
    expect(BigInt(quoted.max_cost_wei)).toBe(4n * BigInt(quoted.quote.max_cost_wei));
    // The same seed: the points the first dry run listed.
    expect(quoted.points.map((point) => `Y=${point.Y}, X=${point.X}`)).toEqual([...said.stdout.matchAll(/^ +\d+ +(Y=\w, X=\d)$/gm)].map((m) => m[1]));
    expect(await newestJob()).toBe(before);
  });

  it("sweeps a template's parameters, and refuses a grid with one value the template refuses before creating any job", async () => {
    const before = await newestJob();
    const bad = await pond(["run", "pond/echo@1.0.0", "-p", "message=hi", "--grid", "times=1,101"]);
    expect(bad.code).toBe(exitCodes.usage);
    expect(bad.stderr).toMatch(/the point times=101: .*times/);
    expect(await newestJob()).toBe(before);

    const ran = await pond(["--json", "run", "pond/echo@1.0.0", "--grid", "message=a,b", "--grid", "times=1,2"]);
    const result = json<{ jobs: Array<{ point: Record<string, string>; status: string }> }>(ran);
    expect(result.jobs.map((j) => [j.point.message, j.point.times, j.status])).toEqual([
      ["a", "1", "succeeded"],
      ["a", "2", "succeeded"],
      ["b", "1", "succeeded"],
      ["b", "2", "succeeded"],
    ]);
  });

  it("sends a sweep's --input file from this machine to every job's provider, hashed once, the same bytes in each", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pond-cli-sweep-"));
    try {
      const data = join(dir, "data.txt");
      await writeFile(data, "0123456789\n".repeat(100_000));
      const script = 'printf \'{"bytes": %s, "k": %s}\' "$(wc -c < /inputs/data.txt)" "$K" > /outputs/metrics.json; sha256sum /inputs/data.txt';
      const result = json<{ jobs: Array<{ id: string; status: string; metrics: { bytes: number; k: number } }> }>(await pond(["--json", "run", ...busybox, "--input", data, "--grid", "K=1,2,3", "--", "sh", "-c", script]));
      expect(result.jobs.map((job) => [job.status, job.metrics])).toEqual([1, 2, 3].map((k) => ["succeeded", { bytes: 1_100_000, k }]));
      const digest = createHash("sha256").update(await readFile(data)).digest("hex");
      for (const { id } of result.jobs) {
        const job = json<Job>(await pond(["--json", "jobs", "get", id]));
        expect(job.spec.input_files).toEqual([{ path: "data.txt", size: 1_100_000, sha256: digest }]);
        expect(job.logs).toContain(digest);
        // Peer to peer from this machine, or from the provider's cache once an earlier job brought it: never the relay.
        expect(["direct", "cache"]).toContain(job.metrics.transfer.inputs?.route);
      }
      const detached = await pond(["run", ...busybox, "--detach", "--input", data, "--grid", "K=1,2", "--", "true"]);
      expect(detached.code).toBe(exitCodes.usage);
      expect(detached.stderr).toMatch(/a detached sweep's --input files would go to the relay once for every job/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a sweep its escrow cannot cover as a whole, creating none of it", async () => {
    const before = await newestJob();
    // Three jobs at up to 0.5 ETH each against the 1 ETH deposited.
    const refused = await pond(["run", ...busybox, "--max-price", "500000000000000000", "--grid", "X=1,2,3", "--", "true"]);
    expect(refused.code).toBe(exitCodes.refused);
    expect(refused.stderr).toMatch(/this sweep.s 3 jobs together may cost more than your escrow has free \(pond balance\): deposit more.*none was created \(your escrow has \d+ wei free; these 3 jobs may cost up to 1500000000000000000 wei together/);
    expect(await newestJob()).toBe(before);
  });

  it("two sweeps racing for one escrow: one is created whole, the other refused whole, none of it left", async () => {
    const free = BigInt(json<{ escrow: { available_wei: string } }>(await pond(["--json", "balance"])).escrow.available_wei);
    const before = await newestJob();
    // Each sweep alone fits (3 × a fifth of what is free); both together do not.
    const price = free / 5n;
    const sweep = () => pond(["--json", "run", ...busybox, "--detach", "--max-price", price.toString(), "--grid", "N=1,2,3", "--", "sleep", "600"]);
    const results = await Promise.all([sweep(), sweep()]);
    const made = results.filter((r) => r.code === 0).map((r) => JSON.parse(r.stdout) as { sweep: string; jobs: Job[] });
    const refused = results.filter((r) => r.code !== 0);
    expect(made).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.code).toBe(exitCodes.refused);
    const error = (JSON.parse(refused[0]!.stderr.trim().split("\n").at(-1)!) as { error: { message: string } }).error;
    expect(error.message).toMatch(/this sweep.s 3 jobs together may cost more than your escrow has free .*none was created/);
    // The jobs made since are exactly the created sweep's three.
    const recent = json<{ results: Job[] }>(await pond(["--json", "jobs", "list", "--limit", "10"])).results;
    const since = recent.slice(0, recent.findIndex((job) => job.id === before));
    expect(since.map((job) => job.id).sort()).toEqual(made[0]!.jobs.map((job) => job.id).sort());
    expect((await pond(["sweep", "cancel", made[0]!.sweep])).code).toBe(0);
  });

  describe("early stopping", () => {
    // Each point reports its loss a step at a time: 1 for the honest points, which end after 12
    // steps, and 9 for X=9, which would go on for 10 minutes unless it is stopped.
    const reporting = [
      "sh",
      "-c",
      'loss=1; steps=12; [ "$X" != 9 ] || { loss=9; steps=2000; }; i=0; while [ $i -lt $steps ]; do i=$((i+1)); echo "POND_METRICS {\\"step\\": $i, \\"loss\\": $loss}"; sleep 0.3; done',
    ];

    it("stops the point whose loss is above the others' median, says so as it ends, and counts it as stopped, not failed", async () => {
      const ran = await pond(["run", ...busybox, "--grid", "X=1,2,3,9", "--stop-early", "loss:min", "--", ...reporting]);
      expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0);
      const sweep = /sweep (swp_[0-9a-f]{10}): 3 of 4 succeeded, 1 stopped early/.exec(ran.stdout)?.[1];
      expect(sweep, ran.stdout).toBeDefined();
      expect(ran.stderr).toMatch(/^job_\w+ canceled: canceled by its creator: stopped early at step \d+: its best loss 9 is above the median 1 of 3 other runs' averages there$/m);
      expect(ran.stderr).toMatch(/\[pond: 1 of 4 jobs stopped early by loss \(lower is better\)\]/);
      expect(ran.stdout).toMatch(/^ {2}job_\w+ \(X=9\) canceled: canceled by its creator: stopped early at step \d+/m);

      // Read back from anywhere, it is still a sweep that went as asked.
      const show = await pond(["--json", "sweep", "show", sweep!]);
      expect(show.code).toBe(0);
      const shown = JSON.parse(show.stdout) as { jobs: Array<{ point: { X: string }; status: string; status_detail: string | null }> };
      expect(shown.jobs.map((job) => [job.point.X, job.status])).toEqual([["1", "succeeded"], ["2", "succeeded"], ["3", "succeeded"], ["9", "canceled"]]);
    });

    it("stops early a sweep made with --detach, with no pond waiting on it", async () => {
      expect((await pond(["run", ...busybox, "--grid", "X=1,9", "--stop-early", "loss", "--", "true"])).stderr).toMatch(/which way is better, e\.g\. val_loss:min/);
      expect((await pond(["run", ...busybox, "--grid", "X=1,9,2", "--stop-early", "loss:min", "--", "true"])).stderr).toMatch(/--stop-early needs a sweep of at least 4 jobs \(each is judged against at least 3 others\); this one has 3/);

      const detached = json<{ sweep: string; jobs: Job[] }>(await pond(["--json", "run", ...busybox, "--detach", "--grid", "X=9,1,2,3", "--stop-early", "loss:min", "--stop-early-after", "2", "--", ...reporting]));
      // The grid's order: X=9 first. Nobody waits on the sweep; the API stops it.
      const losing = detached.jobs[0]!.id;
      const stopped = await eventually(async () => {
        const job = json<Job>(await pond(["--json", "jobs", "get", losing]));
        return job.status === "canceled" && job;
      }, { what: "the losing point stopped with nobody waiting", timeoutMs: 90_000, intervalMs: 1_000 });
      expect(stopped.status_detail).toMatch(/^canceled by its creator: stopped early at step \d+: its best loss 9 is above the median 1 of 3 other runs' averages there$/);
      expect(Number(/stopped early at step (\d+)/.exec(stopped.status_detail ?? "")?.[1])).toBeGreaterThanOrEqual(2);

      const waited = await pond(["--json", "sweep", "wait", detached.sweep]);
      expect(waited.code, waited.stderr).toBe(0);
      const results = JSON.parse(waited.stdout) as { jobs: Array<{ point: { X: string }; status: string }> };
      expect(results.jobs.map((job) => [job.point.X, job.status])).toEqual([["9", "canceled"], ["1", "succeeded"], ["2", "succeeded"], ["3", "succeeded"]]);
    });
  });

  it("detaches a sweep and cancels what of it is still open", async () => {
    const detached = json<{ sweep: string; jobs: Job[] }>(await pond(["--json", "run", ...busybox, "--detach", "--grid", "N=1,2", "--", "sleep", "60"]));
    expect(detached.jobs).toHaveLength(2);
    const canceled = json<Job[]>(await pond(["--json", "sweep", "cancel", detached.sweep]));
    expect(canceled.map((job) => job.status)).toEqual(["canceled", "canceled"]);
    expect((await pond(["sweep", "cancel", detached.sweep])).stdout).toMatch(/no job left open/);
    expect((await pond(["sweep", "show", "swp_0000000000"])).code).toBe(exitCodes.notFound);
    expect((await pond(["sweep", "show", "nonsense"])).code).toBe(exitCodes.usage);
  });

  it("makes a sweep at its limit, 100 jobs, reads all of them back, and cancels them all", async () => {
    const values = Array.from({ length: 100 }, (_, i) => i).join(",");
    const detached = json<{ sweep: string; jobs: Job[] }>(await pond(["--json", "run", ...busybox, "--detach", "--max-price", "1000000000000", "--grid", `N=${values}`, "--", "sleep", "600"]));
    expect(detached.jobs).toHaveLength(100);
    const show = await pond(["--json", "sweep", "show", detached.sweep]);
    const shown = JSON.parse(show.stdout) as { jobs: Array<{ id: string; point: { N: string } }> };
    expect(shown.jobs.map((job) => job.point.N)).toEqual(values.split(","));
    expect(shown.jobs.map((job) => job.id)).toEqual(detached.jobs.map((job) => job.id));
    const canceled = json<Job[]>(await pond(["--json", "sweep", "cancel", detached.sweep]));
    expect(canceled.map((job) => job.status)).toEqual(Array(100).fill("canceled"));
    expect((await pond(["run", ...busybox, "--grid", `N=${values},100`, "--", "true"])).stderr).toMatch(/101 jobs; a sweep is at most 100/);
  }, 180_000);

  it("counts a deposit made a moment before the sweep: the API reads the chain before it refuses", async () => {
    const free = BigInt(json<{ escrow: { available_wei: string } }>(await pond(["--json", "balance"])).escrow.available_wei);
    // Two jobs at 0.3 ETH more than is free: only the deposit made right before covers them.
    const price = free / 2n + 300_000_000_000_000_000n;
    expect((await pond(["deposit", "1", "--rpc-url", network.stack.anvil.rpcUrl])).code).toBe(0);
    const made = json<{ sweep: string; jobs: Job[] }>(await pond(["--json", "run", "--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128", "--detach", "--max-price", price.toString(), "--grid", "N=1,2", "--", "sleep", "600"]));
    expect(made.jobs).toHaveLength(2);
    expect((await pond(["sweep", "cancel", made.sweep])).code).toBe(0);
  });
});

