// `npx tsx bench/gas.ts`: gas per job for PondMarket's whole lifecycle
// (reserveJobs + submitResults + settleJobs) on a real anvil, in batches of 1,
// 10 and 100, beside the same jobs done one transaction per job. The main runs
// model a running market: jobs round-robin over up to 5 creators and 5
// providers that have been paid before. The worst case gives every job its own
// creator and a provider paid for the first time; one more run has every job
// tolerant (its challenge judged by a verdict). Then gas per mediated challenge
// (challenge + assignMediator + the mediator's answer), for an exact job
// (resolveChallenge) and a tolerant one (judgeChallenge), upheld and rejected.
// Writes bench/reports/gas.json.
import { parseEther, type LocalAccount, type TransactionReceipt } from "viem";
import { fundedAccount, startAnvil, type Anvil } from "../test/helpers/anvil.ts";
import {
  createMarketFixture,
  hashOf,
  jobIdOf,
  mined,
  signMediation,
  signReservation,
  signResult,
  signVerdict,
  type MarketFixture,
  type Reservation,
  type ResultSubmission,
} from "../test/contracts/marketFixture.ts";
import { printTable, writeReport } from "./lib/report.ts";

const BATCH_SIZES = [1, 10, 100];
const GOAL_GAS_PER_JOB = 60_000;
const MAX_PRICE = parseEther("0.001");
const AMOUNT = parseEther("0.0008");

interface Parties {
  label: string;
  creators: number;
  providers: number;
  /** Whether each provider has been paid once before (its balance word already exists). */
  paidBefore: boolean;
  /** Whether the jobs are tolerant (their JobAuthorization says so; the job word keeps the flag). */
  tolerant?: boolean;
}

interface Measurement {
  parties: string;
  batchSize: number;
  mode: "batched" | "one tx per job";
  reserve: number;
  result: number;
  settle: number;
  total: number;
}

let jobCounter = 0;

async function partiesFor(fixture: MarketFixture, parties: Parties): Promise<{ creators: LocalAccount[]; providers: LocalAccount[] }> {
  const { anvil } = fixture;
  const creators: LocalAccount[] = [];
  const providers: LocalAccount[] = [];
  for (let i = 0; i < parties.creators; i++) {
    const creator = await fundedAccount(anvil, `bench-creator-${parties.label}-${i}`);
    await mined(anvil, fixture.as(creator).write.deposit({ value: parseEther("10") }));
    creators.push(creator);
  }
  for (let i = 0; i < parties.providers; i++) {
    const provider = await fundedAccount(anvil, `bench-provider-${parties.label}-${i}`);
    await mined(anvil, fixture.as(provider).write.register({ value: parseEther("2") }));
    providers.push(provider);
  }
  if (parties.paidBefore) {
    const earlier = await signJobs(fixture, { creators, providers }, providers.length);
    await lifecycle(fixture, earlier, providers.length);
  }
  return { creators, providers };
}

/** Signs `count` jobs round-robin over the parties: reservations and the matching provider results. */
async function signJobs(fixture: MarketFixture, parties: { creators: LocalAccount[]; providers: LocalAccount[] }, count: number, tolerant = false) {
  const deadline = (await fixture.now()) + 86_400n;
  const jobs: Array<{ reservation: Reservation; result: ResultSubmission; provider: LocalAccount }> = [];
  for (let i = 0; i < count; i++) {
    const n = jobCounter++;
    const creator = parties.creators[i % parties.creators.length]!;
    const provider = parties.providers[i % parties.providers.length]!;
    const reservation = await signReservation(creator, fixture.domain, { jobId: jobIdOf(`bench-${n}`), maxPrice: MAX_PRICE, deadline, tolerant });
    const result = await signResult(provider, fixture.domain, { jobId: reservation.jobId, resultHash: hashOf(`bench-result-${n}`), amount: AMOUNT });
    jobs.push({ reservation, result, provider });
  }
  return jobs;
}

function gasOf(receipts: TransactionReceipt[]): number {
  return receipts.reduce((sum, r) => sum + Number(r.gasUsed), 0);
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Runs `jobs` through the lifecycle in transactions of `perTx` jobs each; returns the gas of each step. */
async function lifecycle(fixture: MarketFixture, jobs: Awaited<ReturnType<typeof signJobs>>, perTx: number) {
  const { anvil } = fixture;
  const relayer = fixture.as(fixture.relayer);
  const reserve: TransactionReceipt[] = [];
  const result: TransactionReceipt[] = [];
  const settle: TransactionReceipt[] = [];
  for (const part of chunk(jobs, perTx)) reserve.push(await mined(anvil, relayer.write.reserveJobs([part.map((j) => j.reservation)], { gas: 25_000_000n })));
  for (const part of chunk(jobs, perTx)) result.push(await mined(anvil, relayer.write.submitResults([part.map((j) => j.result)], { gas: 25_000_000n })));
  const { challengeWindow } = await relayer.read.marketParams();
  await anvil.increaseTime(challengeWindow);
  for (const part of chunk(jobs, perTx)) {
    settle.push(await mined(anvil, relayer.write.settleJobs([part.map((j) => j.reservation.jobId)], { gas: 25_000_000n })));
  }
  return { reserve: gasOf(reserve), result: gasOf(result), settle: gasOf(settle) };
}

async function measure(fixture: MarketFixture, parties: Parties, batchSize: number, mode: Measurement["mode"]): Promise<Measurement> {
  const accounts = await partiesFor(fixture, { ...parties, label: `${parties.label}-${mode}` });
  const jobs = await signJobs(fixture, accounts, batchSize, parties.tolerant);
  const gas = await lifecycle(fixture, jobs, mode === "batched" ? batchSize : 1);
  const perJob = (value: number) => value / batchSize;
  return {
    parties: parties.label,
    batchSize,
    mode,
    reserve: perJob(gas.reserve),
    result: perJob(gas.result),
    settle: perJob(gas.settle),
    total: perJob(gas.reserve + gas.result + gas.settle),
  };
}

interface ChallengeGas {
  path: "exact" | "tolerant";
  outcome: "upheld" | "rejected";
  challenge: number;
  assign: number;
  answer: number;
  total: number;
}

/** Challenges per path and outcome: the mediator is drawn at random, and which registry entry it is moves the draw's gas a little. */
const CHALLENGE_ROUNDS = 6;

/**
 * One creator's jobs, run by one provider, challenged; the mediator is drawn from four more providers, all paid
 * before (so no first credit creates a word), and its answer is sent by the relayer, as the Worker does.
 */
async function mediatedChallenges(fixture: MarketFixture): Promise<ChallengeGas[]> {
  const { anvil, domain } = fixture;
  const relayer = fixture.as(fixture.relayer);
  const { creators, providers } = await partiesFor(fixture, { label: "challenges", creators: 1, providers: 5, paidBefore: true });
  const [creator, provider] = [creators[0]!, providers[0]!];
  const { challengeBond } = await relayer.read.marketParams();
  const samples: ChallengeGas[] = [];
  for (let round = 0; round < CHALLENGE_ROUNDS; round++) {
    for (const path of ["exact", "tolerant"] as const) {
      for (const outcome of ["upheld", "rejected"] as const) {
        const n = jobCounter++;
        const jobId = jobIdOf(`bench-challenge-${n}`);
        const reservation = await signReservation(creator, domain, { jobId, maxPrice: MAX_PRICE, deadline: (await fixture.now()) + 86_400n, tolerant: path === "tolerant" });
        const result = await signResult(provider, domain, { jobId, resultHash: hashOf(`bench-result-${n}`), amount: AMOUNT });
        await mined(anvil, relayer.write.reserveJobs([[reservation]]));
        await mined(anvil, relayer.write.submitResults([[result]]));
        const challenge = await mined(anvil, fixture.as(creator).write.challenge([jobId, result.resultHash, result.providerSignature], { value: challengeBond }));
        await anvil.testClient.mine({ blocks: 1 });
        const assign = await mined(anvil, relayer.write.assignMediator([jobId]));
        const { mediator } = await relayer.read.challengeOf([jobId]);
        const signer = providers.find((p) => p.address === mediator)!;
        const upheld = outcome === "upheld";
        // A tolerant job's re-run differs from the provider's bytes either way; an exact one's matches when upheld.
        const rerunHash = upheld && path === "exact" ? result.resultHash : hashOf(`bench-rerun-${n}`);
        const answer =
          path === "exact"
            ? await mined(anvil, relayer.write.resolveChallenge([jobId, rerunHash, await signMediation(signer, domain, jobId, rerunHash)]))
            : await mined(anvil, relayer.write.judgeChallenge([jobId, rerunHash, upheld, await signVerdict(signer, domain, { jobId, resultHash: result.resultHash, rerunHash, upheld })]));
        const gas = { challenge: gasOf([challenge]), assign: gasOf([assign]), answer: gasOf([answer]) };
        samples.push({ path, outcome, ...gas, total: gas.challenge + gas.assign + gas.answer });
      }
    }
  }
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  return (["exact", "tolerant"] as const).flatMap((path) =>
    (["upheld", "rejected"] as const).map((outcome) => {
      const of = samples.filter((s) => s.path === path && s.outcome === outcome);
      return { path, outcome, challenge: mean(of.map((s) => s.challenge)), assign: mean(of.map((s) => s.assign)), answer: mean(of.map((s) => s.answer)), total: mean(of.map((s) => s.total)) };
    }),
  );
}

async function main(): Promise<void> {
  const anvil: Anvil = await startAnvil();
  try {
    const fixture = await createMarketFixture(anvil, { creators: 0, providers: 0 });
    const shared = (size: number): Parties => ({ label: `shared-${size}`, creators: Math.min(size, 5), providers: Math.min(size, 5), paidBefore: true });
    const measurements: Measurement[] = [];
    for (const size of BATCH_SIZES) {
      measurements.push(await measure(fixture, shared(size), size, "batched"));
      measurements.push(await measure(fixture, shared(size), size, "one tx per job"));
    }
    const distinct: Parties = { label: "distinct-100", creators: 100, providers: 100, paidBefore: false };
    measurements.push(await measure(fixture, distinct, 100, "batched"));
    measurements.push(await measure(fixture, distinct, 100, "one tx per job"));
    // The flag's own cost: the same running market, every job tolerant.
    measurements.push(await measure(fixture, { ...shared(100), label: "tolerant-100", tolerant: true }, 100, "batched"));

    const rows = measurements.map((m) => {
      const single = measurements.find((o) => o.parties === m.parties && o.batchSize === m.batchSize && o.mode === "one tx per job");
      const partiesText = m.parties.startsWith("distinct") ? "1+1 per job, first pay" : `${Math.min(m.batchSize, 5)}+${Math.min(m.batchSize, 5)}${m.parties.startsWith("tolerant") ? ", tolerant" : ""}`;
      const vsSingle = single ? (m.total / single.total).toFixed(2) : "";
      return [String(m.batchSize), partiesText, m.mode, m.reserve, m.result, m.settle, m.total, m.mode === "batched" ? vsSingle : "1.00"];
    });
    printTable("PondMarket gas per job: reserve + result + settle", ["batch", "creators+providers", "mode", "reserve", "result", "settle", "total/job", "vs 1 tx/job"], rows);
    const goal = measurements.find((m) => m.batchSize === 100 && m.mode === "batched" && m.parties.startsWith("shared"))!;
    console.log(`\ngoal: ≤ ${GOAL_GAS_PER_JOB.toLocaleString("en-US")} gas per job at batch size 100 → ${Math.round(goal.total).toLocaleString("en-US")} (${goal.total <= GOAL_GAS_PER_JOB ? "met" : "NOT met"})`);
    const tolerantJobs = measurements.find((m) => m.parties.startsWith("tolerant"))!;
    console.log(`tolerant jobs at batch size 100: ${Math.round(tolerantJobs.total).toLocaleString("en-US")} gas per job (${Math.round(tolerantJobs.total - goal.total)} vs exact)`);

    // A market of its own, so the mediator pool is exactly this run's providers.
    const challenges = await mediatedChallenges(await createMarketFixture(anvil, { creators: 0, providers: 0 }));
    printTable(
      `Gas per mediated challenge (challenge + assignMediator + answer; mean of ${CHALLENGE_ROUNDS} each)`,
      ["job", "outcome", "answer call", "challenge", "assign", "answer", "total", "vs exact"],
      challenges.map((c) => {
        const exact = challenges.find((o) => o.path === "exact" && o.outcome === c.outcome)!;
        return [c.path, c.outcome, c.path === "exact" ? "resolveChallenge" : "judgeChallenge", c.challenge, c.assign, c.answer, c.total, (c.total / exact.total).toFixed(3)];
      }),
    );
    const path = await writeReport("gas", {
      goalGasPerJob: GOAL_GAS_PER_JOB,
      goalMet: goal.total <= GOAL_GAS_PER_JOB,
      challenges: challenges.map((c) => ({ ...c, challenge: Math.round(c.challenge), assign: Math.round(c.assign), answer: Math.round(c.answer), total: Math.round(c.total) })),
      note: "Execution gas on anvil (L2 execution gas on Arbitrum follows the same schedule; Arbitrum adds an L1 data fee per calldata byte).",
      measurements: measurements.map((m) => ({ ...m, reserve: Math.round(m.reserve), result: Math.round(m.result), settle: Math.round(m.settle), total: Math.round(m.total) })),
    });
    console.log(`report: ${path}`);
  } finally {
    await anvil.stop();
  }
}

await main();
