// `npm run bench:verify`: is a tolerant challenge fair? On anvil with wrangler
// dev and real daemons, pond/jitter jobs (numbers and labels that differ a little
// on every run, as ML outputs do across machines) are challenged:
// - BENCH_VERIFY_JOBS (default 20) run by an honest daemon: how many were
//   slashed (goal 0);
// - as many run by a lying provider (test/helpers/lyingProvider.ts) whose
//   outputs are past the tolerance by a random margin, in numbers, in labels or
//   both: how many escaped (goal 0).
// Each verdict comes from whichever honest daemon the chain draws. Also printed:
// challenge → verdict on chain, p50 and p99. Nothing is asserted.
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { parseEther, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { pondMarketAbi } from "../contracts/generated/pondMarket.ts";
import { sendMarketTx } from "../cli/marketTx.ts";
import type { Job } from "../protocol/job.ts";
import type { PondClient } from "../sdk/index.ts";
import { JITTER_LABELS, JITTER_MAX_NOISE } from "../templates/shipped.ts";
import { fundedAccount } from "../test/helpers/anvil.ts";
import { startChainStack, type ChainStack } from "../test/helpers/chainStack.ts";
import { CHALLENGE_OUTCOME, challengeJob, challengeOutcome } from "../test/helpers/challengeGame.ts";
import { forgeJitterOutputs, jitterJob } from "../test/helpers/jitterJobs.ts";
import { startLyingProvider, type LyingProvider } from "../test/helpers/lyingProvider.ts";
import { printTable, summarize, writeReport } from "./lib/report.ts";

const JOBS = Number(process.env.BENCH_VERIFY_JOBS ?? 20);
/** Jobs in flight at once: the honest daemons run two each, and mediate while they do. */
const IN_FLIGHT = 4;
/** The tail of the challenges waiting their turn (serially). */
let queue: Promise<unknown> = Promise.resolve();
const load = () => loadavg().map((l) => l.toFixed(1)).join(" ");
console.log(`load average at start: ${load()} (${cpus().length} cores)`);

interface Tally {
  /** Jobs of this kind of provider: each is judged, voided or failed. */
  jobs: number;
  upheld: number;
  rejected: number;
  voided: number;
  failed: string[];
  verdictMs: number[];
}

let stack: ChainStack | undefined;
let liar: LyingProvider | undefined;
try {
  // The liar never mediates: a challenge that draws it voids once the mediation timeout passes (the relayer
  // calls expireChallenge), so that timeout is short here; an honest re-run answers within seconds.
  stack = await startChainStack({ params: { mediationTimeout: 90, challengeWindow: 1800 } });
  const flags = ["--max-cpus", "1", "--max-memory-mb", "1024"];
  const honest = await stack.provider([...flags, "--cpu-second-wei", "1000000000"], "10");
  const other = await stack.provider([...flags, "--cpu-second-wei", "9000000000"], "10");
  const creator = await stack.creator("verify-bench", "5");
  console.log(`honest provider ${honest.address}, the other honest daemon ${other.address}`);

  // Tallied by who actually ran each job: with the liar registered, the matcher may still send one to an honest daemon.
  const honestTally = emptyTally();
  const liarTally = emptyTally();
  console.log(`${JOBS} honest jobs, challenged …`);
  await challengeAll(stack, creator, JOBS, () => honestTally);

  // A random lie past the tolerance each time: numbers moved 4–100 × the largest noise (the rule allows 2.5 ×
  // between two runs, so an honest re-run within ±1 × of its value is always more than 2.5 × away), labels 7–40
  // of 200 made up (it accepts 6), or both.
  const account = await fundedAccount(stack.anvil, "verify-bench-liar");
  await sendMarketTx(stack.anvil.rpcUrl, account, await creator.client.chain(), { functionName: "register", value: parseEther("10") });
  const lies: { shift: number; wrongLabels: number }[] = [];
  liar = await startLyingProvider({
    api: stack.dev.url,
    account,
    resources: { cpus: IN_FLIGHT, memory_mb: 4096, disk_free_mb: 10_000, gpus: [] },
    forge: async (_offer, dir) => {
      const kind = lies.length % 3;
      const lie = {
        shift: kind === 1 ? 0 : (4 + Math.random() * 96) * JITTER_MAX_NOISE,
        wrongLabels: kind === 0 ? 0 : 7 + Math.floor(Math.random() * 34),
      };
      lies.push(lie);
      await forgeJitterOutputs(dir, lie);
    },
  });
  console.log(`${JOBS} jobs offered to the network with a lying provider the cheapest in it, challenged …`);
  await challengeAll(stack, creator, JOBS, (provider) => (provider === liar!.address ? liarTally : honestTally));

  printTable(
    "tolerant challenges of pond/jitter jobs (each verdict by a drawn honest daemon)",
    ["run by", "challenged", "upheld", "rejected (slashed)", "voided (the liar drawn)", "not challenged", "challenge → verdict p50", "p99", "goal"],
    [
      ["honest", honestTally.jobs, honestTally.upheld, honestTally.rejected, honestTally.voided, honestTally.failed.length, ...times(honestTally), goal("0 slashed", honestTally, honestTally.rejected)],
      ["lying", liarTally.jobs, liarTally.upheld, liarTally.rejected, liarTally.voided, liarTally.failed.length, ...times(liarTally), goal("0 escaped", liarTally, liarTally.upheld)],
    ],
  );
  const shifts = lies.filter((lie) => lie.shift > 0).map((lie) => lie.shift / JITTER_MAX_NOISE);
  const wrong = lies.filter((lie) => lie.wrongLabels > 0).map((lie) => lie.wrongLabels);
  console.log(`lies told: numbers moved ${Math.min(...shifts).toFixed(1)}–${Math.max(...shifts).toFixed(1)} × the noise in ${shifts.length} jobs, ${Math.min(...wrong)}–${Math.max(...wrong)} of ${JITTER_LABELS} labels made up in ${wrong.length}`);
  for (const why of [...honestTally.failed, ...liarTally.failed]) console.log(`not challenged: ${why}`);
  console.log(`report: ${await writeReport("verify", { jobs: JOBS, honest: honestTally, lying: liarTally, lies })}`);
  console.log(`load average at end: ${load()}`);
} finally {
  await liar?.stop();
  await stack?.stop();
}

function emptyTally(): Tally {
  return { jobs: 0, upheld: 0, rejected: 0, voided: 0, failed: [], verdictMs: [] };
}

/** Runs `count` pond/jitter jobs, IN_FLIGHT at a time, challenges each as it ends, and tallies its verdict under whoever ran it. */
async function challengeAll(stack: ChainStack, creator: { wallet: PrivateKeyAccount; client: PondClient }, count: number, tallyOf: (provider: string | null) => Tally): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      let chainJobId: Hex | undefined;
      let tally: Tally | undefined;
      try {
        const created = await creator.client.createPaidJob(jitterJob(), creator.wallet);
        chainJobId = created.chain_job_id as Hex;
        const done: Job = await creator.client.waitForJob(created.id);
        tally = tallyOf(done.provider);
        tally.jobs += 1;
        if (done.status !== "succeeded") throw new Error(`${done.id} ended ${done.status}: ${done.error}`);
        // One challenge transaction at a time: they come from one wallet, and concurrent sends would race for its nonce.
        const job = await serially(() => challengeJob(stack, creator, done));
        const started = performance.now();
        const verdict = await challengeOutcome(stack, job.chain_job_id as Hex, 300_000);
        tally.verdictMs.push(performance.now() - started);
        if (verdict.outcome === CHALLENGE_OUTCOME.upheld) tally.upheld += 1;
        else if (verdict.outcome === CHALLENGE_OUTCOME.rejected) tally.rejected += 1;
        else tally.voided += 1;
      } catch (error) {
        if (!tally) {
          tally = tallyOf(null);
          tally.jobs += 1;
        }
        // Where the job stood on chain when it went wrong: what a revert's reason would have named.
        const onChain = chainJobId ? await stack.anvil.publicClient.readContract({ address: stack.market, abi: pondMarketAbi, functionName: "jobOf", args: [chainJobId] }).catch(() => undefined) : undefined;
        tally.failed.push(`${(error as Error).message.split("\n")[0]!}${onChain ? ` (on chain: status ${onChain.status}, time ${onChain.time}, amount ${onChain.amount})` : ""}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

function serially<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work, work);
  queue = run.catch(() => undefined);
  return run;
}

/** Met only when every job was challenged and judged, and none went the wrong way. */
function goal(what: string, tally: Tally, wrong: number): string {
  const judged = tally.failed.length === 0 && tally.voided === 0;
  return `${what}: ${wrong === 0 && judged ? "met" : judged ? "NOT met" : "not shown (not every job was judged)"}`;
}

function times(tally: Tally): [string, string] {
  if (tally.verdictMs.length === 0) return ["–", "–"];
  const { p50, p99 } = summarize(tally.verdictMs);
  return [`${(p50 / 1000).toFixed(1)} s`, `${(p99 / 1000).toFixed(1)} s`];
}
