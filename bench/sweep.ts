// `npm run bench:sweep`: what a sweep costs to start, as a creator starts one, on
// anvil with wrangler dev (paid jobs, each admitted against the escrow and signed
// by the creator's wallet). In one run, alternating, BENCH_SWEEP_ROUNDS times:
// - `pond run --image … --detach --grid N=1..J`: one command, J jobs (every point
//   checked, then all created as one batch);
// - the way docs/pytorch.md told before sweeps: J `pond run --detach` commands in
//   a shell loop, one process each;
// - the SDK's batch create (createPaidJobs: J signed jobs in one POST /v1/jobs/batch);
// - the baseline: J paid creates from one process through the SDK, one at a time.
// No provider runs, so the jobs stay queued and nothing else takes the cores; each
// round's jobs are canceled before the next. Nothing is asserted.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { creatorWallet } from "../cli/config.ts";
import type { Job } from "../protocol/job.ts";
import { PondClient } from "../sdk/index.ts";
import { startChainStack, type ChainStack } from "../test/helpers/chainStack.ts";
import { runPond } from "../test/helpers/pondCli.ts";
import { printTable, summarize, writeReport } from "./lib/report.ts";

const JOBS = Number(process.env.BENCH_SWEEP_JOBS ?? 20);
const ROUNDS = Number(process.env.BENCH_SWEEP_ROUNDS ?? 3);
const IMAGE = ["--image", "pond-test/busybox:2", "--cpus", "0.5", "--memory", "128"];
const BASELINE = "SDK creates one at a time in one process (baseline)";
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");

let stack: ChainStack | undefined;
let home: string | undefined;
try {
  console.log(`load average at start: ${load()} (${cpus().length} cores); ${JOBS} jobs a sweep, ${ROUNDS} rounds`);
  stack = await startChainStack();
  home = await mkdtemp(join(tmpdir(), "pond-bench-sweep-"));
  const pond = async (args: string[]) => {
    const result = await runPond(args, { home: home!, api: stack!.dev.url, timeoutMs: 600_000 });
    if (result.code !== 0) throw new Error(`pond ${args.slice(0, 3).join(" ")} … exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  await pond(["login"]);
  await pond(["faucet", "--rpc-url", stack.anvil.rpcUrl]);
  await pond(["deposit", "10", "--rpc-url", stack.anvil.rpcUrl]);
  // The same creator in this process: its key and API key from the folder the CLI keeps them in.
  process.env.POND_HOME = home;
  const wallet = await creatorWallet();
  const { apiKey } = JSON.parse(await readFile(join(home, "cli.json"), "utf8")) as { apiKey: string };
  const sdk = new PondClient({ baseUrl: stack.dev.url, apiKey });
  const values = Array.from({ length: JOBS }, (_, i) => String(i + 1));
  const requestOf = (n: string) => ({ image: "pond-test/busybox:2", cmd: ["true"], env: { N: n }, resources: { gpus: 0, cpus: 0.5, memory_mb: 128 }, timeout_s: 600, max_price_wei: "1000000000000000" });

  const ways: Record<string, () => Promise<string[]>> = {
    "pond run --grid (one command)": async () => (JSON.parse(await pond(["--json", "run", ...IMAGE, "--detach", "--grid", `N=${values.join(",")}`, "--", "true"])) as { jobs: Job[] }).jobs.map((job) => job.id),
    "a pond run --detach per point": async () => {
      const ids: string[] = [];
      for (const n of values) ids.push((JSON.parse(await pond(["--json", "run", ...IMAGE, "--env", `N=${n}`, "--detach", "--", "true"])) as Job).id);
      return ids;
    },
    "SDK batch create in one process": async () => (await sdk.createPaidJobs(values.map((n) => ({ request: requestOf(n) })), wallet)).map((job) => job.id),
    [BASELINE]: async () => {
      const ids: string[] = [];
      for (const n of values) ids.push((await sdk.createPaidJob(requestOf(n), wallet)).id);
      return ids;
    },
  };
  const seconds: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating: each way meets the machine in every state the others leave it in.
    const order = Object.keys(ways);
    if (round % 2 === 1) order.reverse();
    for (const name of order) {
      const started = performance.now();
      const ids = await ways[name]!();
      seconds[name]!.push((performance.now() - started) / 1000);
      if (ids.length !== JOBS) throw new Error(`${name} created ${ids.length} jobs, not ${JOBS}`);
      for (const id of ids) await sdk.cancelJob(id);
    }
    console.log(`round ${round + 1}: ${Object.entries(seconds).map(([name, s]) => `${name} ${s.at(-1)!.toFixed(2)} s`).join("; ")} (load ${load()})`);
  }

  const baseline = summarize(seconds[BASELINE]!).p50;
  const rows = Object.entries(seconds).map(([name, s]) => {
    const p50 = summarize(s).p50;
    return [name, p50, (p50 * 1000) / JOBS, p50 / baseline];
  });
  printTable(`starting a sweep of ${JOBS} paid jobs (p50 of ${ROUNDS} rounds)`, ["way", "seconds", "ms a job", "× baseline"], rows);
  const sweep = summarize(seconds["pond run --grid (one command)"]!).p50;
  const loop = summarize(seconds["a pond run --detach per point"]!).p50;
  const batch = summarize(seconds["SDK batch create in one process"]!).p50;
  console.log(`\none command: ${(loop / sweep).toFixed(1)}× faster than a command per point; ${(sweep / baseline).toFixed(2)}× the SDK's single creates one at a time (the CLI's start, and every point checked first)`);
  console.log(`the SDK's batch create: ${(baseline / batch).toFixed(1)}× faster than its creates one at a time. Load at end: ${load()}`);
  await writeReport("sweep", { jobs: JOBS, rounds: ROUNDS, seconds });
} finally {
  await stack?.stop();
  if (home) await rm(home, { recursive: true, force: true });
}
