// The reconnect storm: with jobs flowing, every provider's socket is cut at
// once (fleetProcess.ts's relay drops them all, as a hub restart or a network
// failure would); each daemon reconnects with its own backoff and jitter
// (provider/connection/hubClient.ts). Measured: how long until every provider
// is welcomed again and the network lists them all online, when matching
// resumes, and that every job created around it still ends, once.
import { NetworkSummary } from "../../protocol/network.ts";
import type { PondClient } from "../../sdk/index.ts";
import { summarize } from "../lib/report.ts";
import type { Fleet } from "./fleetControl.ts";
import { outcomesOf, readJobs, waitUntilAllEnded, type Outcomes } from "./jobOutcomes.ts";
import { offerLoad, type CreateAs } from "./loadGenerator.ts";

export interface StormOptions {
  api: string;
  creators: PondClient[];
  fleet: Fleet;
  create: CreateAs;
  rate: number;
  durationS: number;
  maxInFlight: number;
  drainS: number;
}

export interface StormResult {
  providers: number;
  socketsCut: number;
  /** From the cut until every provider had a new welcome from its hub. */
  allWelcomedMs: number;
  /** From the cut until GET /v1/network listed every provider online again. */
  allOnlineMs: number;
  /** The fewest providers the network listed online meanwhile. */
  fewestOnline: number;
  /** From the cut until the first job created after it was assigned. */
  matchingResumedMs: number;
  /** created → assigned of the jobs created after the cut. */
  queueAfterCut: ReturnType<typeof summarize>;
  outcomes: Outcomes;
}

/** Providers online as the network lists them: those the matchmakers hold (worker/stats/onlineProviders.ts). */
export async function providersOnline(api: string): Promise<number> {
  const response = await fetch(`${api}/v1/network`);
  return NetworkSummary.parse(await response.json()).providers_online;
}

export async function untilOnline(api: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await providersOnline(api)) !== count) {
    if (Date.now() > deadline) throw new Error(`the network did not list ${count} providers online within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function reconnectStorm(options: StormOptions): Promise<StormResult> {
  const { api, creators, fleet } = options;
  const before = await fleet.stats();
  const welcomesBefore = before.welcomes;
  const load = offerLoad(creators.length, options.create, options.rate, options.durationS, options.maxInFlight);
  // Jobs in every phase when the cut comes: a third of the way into the load.
  await new Promise((resolve) => setTimeout(resolve, (options.durationS * 1000) / 3));
  const cutAt = Date.now();
  const socketsCut = await fleet.drop();
  let allWelcomedMs = Number.NaN;
  let allOnlineMs = Number.NaN;
  let fewestOnline = Number.POSITIVE_INFINITY;
  const deadline = cutAt + 120_000;
  while (Date.now() < deadline && (Number.isNaN(allWelcomedMs) || Number.isNaN(allOnlineMs))) {
    const [stats, online] = await Promise.all([fleet.stats(), providersOnline(api)]);
    fewestOnline = Math.min(fewestOnline, online);
    if (Number.isNaN(allWelcomedMs) && stats.welcomes >= welcomesBefore + fleet.size && stats.connected === fleet.size) allWelcomedMs = Date.now() - cutAt;
    // Online again: every provider welcomed anew and the network's count back to all of them.
    if (!Number.isNaN(allWelcomedMs) && Number.isNaN(allOnlineMs) && online === fleet.size) allOnlineMs = Date.now() - cutAt;
    // Each read lists every provider the matchmaker holds: not too often, or it adds to the storm.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const run = await load;
  await waitUntilAllEnded(creators, options.drainS * 1000, async () => {
    const stats = await fleet.stats();
    return stats.resultsAccepted + stats.resultsRefused - before.resultsAccepted - before.resultsRefused >= run.created.length;
  });
  const jobs = await readJobs(creators, run.created);
  const afterCut = jobs.filter((job) => Date.parse(job.created_at) >= cutAt && job.metrics.queue_ms !== null);
  const assignedAt = afterCut.map((job) => Date.parse(job.created_at) + job.metrics.queue_ms!);
  return {
    providers: fleet.size,
    socketsCut,
    allWelcomedMs,
    allOnlineMs,
    fewestOnline,
    matchingResumedMs: assignedAt.length > 0 ? Math.min(...assignedAt) - cutAt : Number.NaN,
    queueAfterCut: summarize(afterCut.map((job) => job.metrics.queue_ms!)),
    outcomes: outcomesOf(jobs),
  };
}
