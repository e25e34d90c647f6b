// One measured step: an offered rate held for a while against the fleet as it
// is, every job created waited for to its end, then read back from the API.
import type { Job } from "../../protocol/job.ts";
import type { PondClient } from "../../sdk/index.ts";
import { summarize } from "../lib/report.ts";
import type { Fleet } from "./fleetControl.ts";
import { outcomesOf, readJobs, sustainedRate, timingsOf, waitUntilAllEnded, type Outcomes } from "./jobOutcomes.ts";
import { offerLoad, type CreateAs } from "./loadGenerator.ts";
import { CpuMeter } from "./processStats.ts";

export interface StepOptions {
  creators: PondClient[];
  fleet: Fleet;
  cpu: CpuMeter;
  create: CreateAs;
  rate: number;
  durationS: number;
  runMs: number;
  maxInFlight: number;
  drainS: number;
}

export interface StepResult {
  providers: number;
  offeredRate: number;
  created: number;
  skipped: number;
  refused: Record<string, number>;
  /** Succeeded per second while the load was steady (jobOutcomes.ts sustainedRate). */
  sustained: number;
  /** Succeeded over the whole step: first create to last completion. */
  allIn: number;
  createPost: ReturnType<typeof summarize>;
  queueToAssigned: ReturnType<typeof summarize>;
  createToRunning: ReturnType<typeof summarize>;
  createToResult: ReturnType<typeof summarize>;
  outcomes: Outcomes;
  /** How many providers ran the step's jobs, and the most any one of them ran. */
  providersUsed: number;
  mostOnOneProvider: number;
  /** The jobs' settlement status at the end ("none" with the chain off). */
  settlement: Record<string, number>;
  /** Cores each process used while the load was offered (1.0 = one whole core): the API was asked nothing else meanwhile. */
  cores: Record<string, number>;
  /**
   * CPU seconds each process used from the first create until every job had ended, and how long that
   * was: what the step's jobs cost in all (an overloaded step's creates are paid for while offered, its jobs after).
   */
  cpuSeconds: Record<string, number>;
  elapsedS: number;
}

export async function runStep(options: StepOptions): Promise<StepResult> {
  const { creators, fleet, cpu, rate, durationS } = options;
  const results = async () => {
    const stats = await fleet.stats();
    return stats.resultsAccepted + stats.resultsRefused;
  };
  const resultsBefore = await results();
  const before = cpu.sample();
  const load = await offerLoad(creators.length, options.create, rate, durationS, options.maxInFlight);
  const loaded = cpu.sample();
  await waitUntilAllEnded(creators, options.drainS * 1000, async () => (await results()) - resultsBefore >= load.created.length);
  const drained = cpu.sample();
  const jobs = await readJobs(creators, load.created);
  const timings = timingsOf(jobs);
  // Steady once the first jobs could have finished: a run, and two seconds for the path around it.
  const warmupMs = Math.min(options.runMs + 2_000, (durationS * 1000) / 2);
  const succeeded = jobs.filter((job) => job.status === "succeeded");
  const lastCompletion = Math.max(...succeeded.map((job) => Date.parse(job.completed_at!)));
  const firstCreate = Math.min(...jobs.map((job) => Date.parse(job.created_at)));
  return {
    providers: fleet.size,
    offeredRate: rate,
    created: load.created.length,
    skipped: load.skipped,
    refused: load.refused,
    sustained: sustainedRate(jobs, load.startedAt + warmupMs, load.endedAt),
    allIn: succeeded.length / ((lastCompletion - firstCreate) / 1000),
    createPost: summarize(load.created.map((job) => job.createMs)),
    queueToAssigned: summarize(timings.queueToAssigned),
    createToRunning: summarize(timings.createToRunning),
    createToResult: summarize(timings.createToResult),
    outcomes: outcomesOf(jobs),
    ...spreadOf(jobs),
    settlement: jobs.reduce<Record<string, number>>((counts, job) => ({ ...counts, [job.settlement]: (counts[job.settlement] ?? 0) + 1 }), {}),
    cores: CpuMeter.cores(before, loaded),
    cpuSeconds: Object.fromEntries(Object.keys(drained.cpu).map((name) => [name, drained.cpu[name]! - before.cpu[name]!])),
    elapsedS: (drained.at - before.at) / 1000,
  };
}

/** Where the jobs ran: the matcher fills the provider it prefers first, so a tie in price and reputation can put every job on one. */
function spreadOf(jobs: readonly Job[]): { providersUsed: number; mostOnOneProvider: number } {
  const perProvider = new Map<string, number>();
  for (const job of jobs) if (job.provider) perProvider.set(job.provider, (perProvider.get(job.provider) ?? 0) + 1);
  return { providersUsed: perProvider.size, mostOnOneProvider: Math.max(0, ...perProvider.values()) };
}
