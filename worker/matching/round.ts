// One matching round of a matchmaker (objects/Matchmaker.ts decides when): lost
// offers expire, overdue jobs fail, the pure matcher pairs waiting jobs with
// capacity, each pairing is offered through the provider's hub (which alone
// reserves), and waiting jobs are told why they wait.
import { and, eq, inArray } from "drizzle-orm";
import { hubOf } from "../bindings/objects.ts";
import { inPieces } from "../db/listParameters.ts";
import { jobs } from "../db/schema.ts";
import type { JobContext } from "../jobs/context.ts";
import { transitionIfStill } from "../jobs/transitions.ts";
import { explainNeverFits, matchJobs, type ProviderCapacity, type QueuedJob } from "./matcher.ts";
import type { MatchStore, QueueRow } from "./matchStore.ts";
import type { WarmStore } from "./warmStore.ts";

const WAITING_DETAIL = "waiting for a provider with free capacity";

export interface RoundInput {
  store: MatchStore;
  /** Who holds which image and input warm: jobs go where their bytes are when those providers fit. */
  warm?: WarmStore;
  ctx: JobContext;
  now: number;
  /** Capacity changed (or an offer fell through) since the last round: every waiting job is looked at again. */
  fullRound: boolean;
  /** Whether waiting jobs' details are due to be written (it costs a D1 write). */
  describeDue: boolean;
}

export interface RoundResult {
  /** Jobs that found no provider this round. */
  unmatched: number;
}

export async function runRound(input: RoundInput): Promise<RoundResult> {
  const { store, ctx, now, fullRound } = input;
  const providers = store.providers();
  for (const row of store.overdue(now)) await failUnmatched(input, row.job, providers);
  const waiting = store.waiting(!fullRound);
  store.markSeen();

  const { assignments, unmatched } = matchJobs(
    // Held-off providers are offered nothing; why a job waits is still said against every provider online.
    store.providersToOffer(),
    waiting.map((row) => row.job),
    input.warm?.savedBytesForRound(),
    // A new order among equal providers each round, so their jobs (and hubs) share the work.
    crypto.getRandomValues(new Uint32Array(1))[0]!,
  );
  const offerDeadline = now + 2 * ctx.config.matching.offerTimeoutMs + 1_000;
  await Promise.all(
    assignments.map(async (assignment) => {
      const outcome = await hubOf(ctx.env, ctx.config, assignment.provider).offer(assignment);
      if (outcome.ok) store.offered(assignment.jobId, assignment.provider, offerDeadline);
      else if (outcome.jobGone) store.remove(assignment.jobId);
      else if (outcome.providerGone) store.removeProvider(assignment.provider);
      // Otherwise the hub's view was fresher than ours; it has republished, and the next round retries.
    }),
  );

  if (fullRound || input.describeDue) {
    const left = new Set(unmatched);
    // Capacity unchanged: only jobs never described can need a (first) description.
    const rows = fullRound ? waiting.filter((row) => left.has(row.job.id)) : store.undescribed();
    await describeWaiting(input, rows, providers);
  }
  return { unmatched: unmatched.length };
}

/** Keeps each waiting job's status detail saying why it waits: one D1 batch, only for details that changed. */
async function describeWaiting({ store, ctx }: RoundInput, rows: QueueRow[], providers: ProviderCapacity[]): Promise<void> {
  const changed = new Map<string, string[]>();
  for (const row of rows) {
    const detail = explainNeverFits(row.job, providers) ?? WAITING_DETAIL;
    if (detail === row.detail) continue;
    store.setDetail(row.job.id, detail);
    changed.set(detail, [...(changed.get(detail) ?? []), row.job.id]);
  }
  if (changed.size === 0) return;
  const { db } = ctx;
  const updates = [...changed].flatMap(([detail, ids]) =>
    inPieces(ids).map((chunk) => db.update(jobs).set({ statusDetail: detail }).where(and(inArray(jobs.id, chunk), eq(jobs.status, "queued")))),
  );
  await db.batch(updates as [(typeof updates)[number], ...typeof updates]);
}

async function failUnmatched({ store, ctx }: RoundInput, job: QueuedJob, providers: ProviderCapacity[]): Promise<void> {
  const reason = explainNeverFits(job, providers);
  const error = `the network had no capacity for this job within its match timeout${reason ? `: ${reason}` : ""}`;
  store.remove(job.id);
  await transitionIfStill(ctx, job.id, "failed", { error }, "matchmaker");
}
