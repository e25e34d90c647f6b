// bench:fleet's tables and goal lines, from what fleet.ts measured.
import { printTable } from "../lib/report.ts";
import type { Floor } from "./insertFloor.ts";
import type { ChainPassResult } from "./chainPass.ts";
import type { StepResult } from "./loadStep.ts";
import type { ProfileSummary } from "./workerProfile.ts";
import type { StormResult } from "./reconnectStorm.ts";

export const GOALS = { ratioToInsert: 0.3, flatThroughput: 0.9, flatP99: 1.5 };
/** The processes whose CPU is the server's: what a job costs the control plane. */
export const SERVER = ["workerd", "workerd proxy", "wrangler node"];

export interface SizeRecord {
  providers: number;
  signInMs: number;
  /** Resident memory right before and right after the new providers signed in: the Worker's workerd, and wrangler's proxy workerd. */
  rssBeforeMb: { workerd: number; proxy: number };
  rssMb: { workerd: number; proxy: number };
  /** Cores each process used with the fleet connected and no jobs (heartbeats, alarms). */
  idleCores: Record<string, number>;
  floor: Floor;
  loadAverage: string;
}

export interface FleetRun {
  settings: { durationS: number; runMs: number; creators: number; hubShards: string; stormRate: number; maxInFlight: number; sizes: number[]; rates: number[] };
  sizes: SizeRecord[];
  steps: StepResult[];
  storms: StormResult[];
  problems: Record<string, { count: number; example: string }>;
  stillOpen: number;
}

const pair = (s: { p50: number; p99: number }) => `${Math.round(s.p50)} / ${Math.round(s.p99)}`;
const notSucceeded = (s: StepResult) => s.created - s.outcomes.succeeded + s.skipped + Object.values(s.refused).reduce((a, b) => a + b, 0);

/**
 * Server CPU per succeeded job, from the first create until every job had ended (the jobs of an
 * overloaded step finish after the load stops), less what the connected fleet costs idle.
 */
export function serverMsPerJob(step: StepResult, size: SizeRecord): number {
  const net = SERVER.reduce((sum, name) => sum + (step.cpuSeconds[name] ?? 0) - (size.idleCores[name] ?? 0) * step.elapsedS, 0);
  return (net * 1000) / Math.max(1, step.outcomes.succeeded);
}

export function printFleetRun(run: FleetRun): void {
  const { settings, sizes, steps, storms } = run;
  const sizeOf = (providers: number) => sizes.find((s) => s.providers === providers)!;
  printTable(
    `Fleet, chain off: ${settings.durationS} s per offered rate, each job "runs" ${settings.runMs} ms, ${settings.creators} creators, HUB_SHARDS=${settings.hubShards}`,
    ["providers", "offered/s", "created", "succeeded/s while offered", "÷ insert", "succeeded/s, first create → last result", "queue→assigned p50/p99", "create→running p50/p99", "create→result p50/p99", "POST p99", "not succeeded", "providers used (most on one)", "server CPU ms/job (× insert)", "cores: workerd / proxy / fleet / generator"],
    steps.map((s) => [
      String(s.providers),
      String(s.offeredRate),
      String(s.created),
      s.sustained,
      (s.sustained / sizeOf(s.providers).floor.requestsPerSecond).toFixed(2),
      s.allIn,
      pair(s.queueToAssigned),
      pair(s.createToRunning),
      pair(s.createToResult),
      String(Math.round(s.createPost.p99)),
      String(notSucceeded(s)),
      `${s.providersUsed} (${s.mostOnOneProvider})`,
      `${serverMsPerJob(s, sizeOf(s.providers)).toFixed(1)} (${(serverMsPerJob(s, sizeOf(s.providers)) / sizeOf(s.providers).floor.serverMsPerRequest).toFixed(1)}×)`,
      ["workerd", "workerd proxy", "fleet", "load generator"].map((name) => (s.cores[name] ?? Number.NaN).toFixed(2)).join(" / "),
    ]),
  );
  printTable(
    "Per fleet size (memory per provider: workerd + proxy growth over the sign-in of those added; idle = connected, no jobs)",
    ["providers", "sign-in s", "workerd MiB", "proxy MiB", "MiB per added provider", "idle cores workerd / proxy", "bare insert req/s", "server CPU ms/insert", "load average"],
    sizes.map((s, i) => {
      const added = (s.rssMb.workerd + s.rssMb.proxy - s.rssBeforeMb.workerd - s.rssBeforeMb.proxy) / (s.providers - (i === 0 ? 0 : sizes[i - 1]!.providers));
      return [String(s.providers), (s.signInMs / 1000).toFixed(1), s.rssMb.workerd, s.rssMb.proxy, added.toFixed(3), `${(s.idleCores.workerd ?? 0).toFixed(2)} / ${(s.idleCores["workerd proxy"] ?? 0).toFixed(2)}`, s.floor.requestsPerSecond, s.floor.serverMsPerRequest.toFixed(2), s.loadAverage];
    }),
  );
  if (storms.length > 0) {
    printTable(
      `Reconnect storm: every provider socket cut at once, ${settings.stormRate} jobs/s offered around it`,
      ["providers", "cut", "all welcomed ms", "all online ms", "fewest online seen", "matching resumed ms", "queue→assigned after cut p50/p99", "jobs", "succeeded", "requeued", "open"],
      storms.map((s) => [String(s.providers), String(s.socketsCut), s.allWelcomedMs, s.allOnlineMs, String(s.fewestOnline), s.matchingResumedMs, pair(s.queueAfterCut), String(s.outcomes.created), String(s.outcomes.succeeded), String(s.outcomes.requeued), String(s.outcomes.open)]),
    );
  }
  printReasons(run);
  printGoals(run);
}

function printReasons(run: FleetRun): void {
  const reasons = new Map<string, number>();
  const add = (reason: string, n: number) => reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  for (const outcome of [...run.steps.map((s) => s.outcomes), ...run.storms.map((s) => s.outcomes)]) for (const [reason, n] of Object.entries(outcome.reasons)) add(reason, n);
  for (const step of run.steps) for (const [reason, n] of Object.entries(step.refused)) add(`create refused: ${reason}`, n);
  const skipped = run.steps.reduce((sum, s) => sum + s.skipped, 0);
  if (skipped > 0) add(`not sent: ${run.settings.maxInFlight} creates were already unanswered`, skipped);
  console.log(`\nJobs that did not succeed, by reason${reasons.size === 0 ? ": none" : ""}`);
  for (const [reason, n] of reasons) console.log(`  ${n} × ${reason}`);
  console.log(`Jobs still open at the end, across all creators: ${run.stillOpen}`);
  if (Object.keys(run.problems).length > 0) {
    console.log("\nWhat the fleet's daemons logged (warnings and errors)");
    for (const [message, entry] of Object.entries(run.problems)) console.log(`  ${entry.count} × ${message}${entry.example ? ` (e.g. ${entry.example})` : ""}`);
  }
}

function printGoals(run: FleetRun): void {
  const { settings, steps, sizes } = run;
  const smallest = settings.sizes[0]!;
  const largest = settings.sizes[settings.sizes.length - 1]!;
  const atLargest = steps.filter((s) => s.providers === largest);
  const floor = sizes.find((s) => s.providers === largest)!.floor.requestsPerSecond;
  if (atLargest.length > 0) {
    const held = Math.max(...atLargest.map((s) => s.sustained));
    const capacity = Math.max(...atLargest.map((s) => s.allIn));
    const ratio = held / floor;
    console.log(`\nbest at ${largest} providers: ${held.toFixed(1)} jobs/s succeeded while offered = ${ratio.toFixed(2)}× the bare insert's ${floor.toFixed(0)} req/s (goal ≥ ${GOALS.ratioToInsert}×): ${ratio >= GOALS.ratioToInsert ? "met" : "NOT met"}`);
    console.log(`  and ${capacity.toFixed(1)} jobs/s from a step's first create to its last result (an overloaded step finishes its backlog after the load): ${(capacity / floor).toFixed(2)}×`);
  }
  for (const rate of settings.rates) {
    const small = steps.find((s) => s.providers === smallest && s.offeredRate === rate);
    const large = steps.find((s) => s.providers === largest && s.offeredRate === rate);
    if (!small || !large || small === large) continue;
    const throughput = large.sustained / small.sustained;
    const p99 = large.createToResult.p99 / small.createToResult.p99;
    console.log(
      `at ${rate} jobs/s offered, ${largest} vs ${smallest} providers: throughput ${throughput.toFixed(2)}× (goal ≥ ${GOALS.flatThroughput}×: ${throughput >= GOALS.flatThroughput ? "met" : "NOT met"}), ` +
        `p99 create → result ${p99.toFixed(2)}× (goal ≤ ${GOALS.flatP99}×: ${p99 <= GOALS.flatP99 ? "met" : "NOT met"})`,
    );
  }
  const open = [...steps.map((s) => s.outcomes), ...run.storms.map((s) => s.outcomes)].reduce((sum, o) => sum + o.open, 0);
  console.log(`jobs left open: ${open + run.stillOpen} (goal 0: ${open + run.stillOpen === 0 ? "met" : "NOT met"})`);
}

/** Where the chain is on: the relayer reserving every job before it may be offered. */
export const RESERVATION_LAG_GOAL_MS = 2_000;

export function printChainPass(chain: ChainPassResult, durationS: number): void {
  const s = chain.step;
  const lag = chain.reservation.lagMs;
  printTable(
    `Fleet, chain on (anvil, relayer and indexer every 300 ms): ${chain.providers} providers staked (${(chain.registerMs / 1000).toFixed(1)} s to register, ${(chain.signInMs / 1000).toFixed(1)} s to sign in), ${durationS} s at ${s.offeredRate} jobs/s`,
    ["created", "succeeded/s", "reservation lag p50/p99 (upper bound)", "queue→assigned p50/p99", "create→running p50/p99", "create→result p50/p99", "POST p99", "not succeeded", "settlement at the end", "cores: workerd / anvil / fleet / generator", "load average"],
    [
      [
        String(s.created),
        s.sustained,
        pair(lag),
        pair(s.queueToAssigned),
        pair(s.createToRunning),
        pair(s.createToResult),
        String(Math.round(s.createPost.p99)),
        String(notSucceeded(s)),
        Object.entries(s.settlement).map(([status, n]) => `${n} ${status}`).join(", "),
        ["workerd", "anvil", "fleet", "load generator"].map((name) => (s.cores[name] ?? Number.NaN).toFixed(2)).join(" / "),
        chain.loadAverage,
      ],
    ],
  );
  for (const [reason, n] of Object.entries(s.outcomes.reasons)) console.log(`  ${n} × ${reason}`);
  for (const [reason, n] of Object.entries(s.refused)) console.log(`  ${n} × create refused: ${reason}`);
  console.log(`jobs read every ${chain.pollMs} ms for their settlement (${chain.reservation.reads} reads); still reserving at the end: ${chain.reservation.stillReserving}; unfunded: ${chain.reservation.unfunded}`);
  console.log(`reservation lag p99 ${lag.p99} ms (goal ≤ ${RESERVATION_LAG_GOAL_MS} ms): ${lag.p99 <= RESERVATION_LAG_GOAL_MS ? "met" : "NOT met"}`);
}

export interface ProfiledStep {
  providers: number;
  rate: number;
  jobs: number;
  summary: ProfileSummary;
}

export function printProfile({ providers, rate, jobs, summary }: ProfiledStep): void {
  const perJob = (ms: number) => (ms / Math.max(1, jobs)).toFixed(2);
  console.log(`\nThe Worker's JavaScript, profiled over an extra step (${providers} providers, ${rate} jobs/s, ${jobs} jobs succeeded): ${summary.jsMs.toFixed(0)} ms of JS (${perJob(summary.jsMs)} ms a job), ${summary.gcMs.toFixed(0)} ms of it garbage collection`);
  printTable("Self time by module", ["module", "ms", "ms a job", "share"], summary.byFile.map((f) => [f.file, f.ms, perJob(f.ms), `${(f.share * 100).toFixed(1)}%`]));
  printTable("Self time by function", ["function", "ms", "ms a job", "share"], summary.top.map((f) => [f.where, f.ms, perJob(f.ms), `${(f.share * 100).toFixed(1)}%`]));
}
