// The safety net, run by the cron trigger: whatever a lost message or a
// crashed object left behind is finished here, so no job is stuck forever and
// no announced event is lost.
import { and, eq, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { terminalStatuses, type JobStatus } from "../../protocol/jobStatus.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { eventForStatus } from "../../protocol/webhookEvents.ts";
import { isChainConfigured } from "../chain/clients.ts";
import { relayerFor } from "../chain/relayer.ts";
import { outstandingChainIntents } from "../chain/settlementHooks.ts";
import { chainEvents, idempotencyKeys, jobs, jobTransitions, webhookDeliveries } from "../db/schema.ts";
import { matchmakerFor, queuedJobOf } from "../matching/scheduling.ts";
import { dispatchJobEvent } from "../webhooks/dispatch.ts";
import { transitionIfStill, type JobContext } from "./transitions.ts";

const OUTBOX_GRACE_MS = 60_000;
const STUCK_DELIVERY_MS = 5 * 60_000;
/** How long past its own deadline a job may be left before the sweeper ends it. */
const DEADLINE_SLACK_MS = 2 * 60_000;
const MAX_STARTING_MS = 60 * 60_000;
/** How long a job's chain work may take to show on chain before it is asked for again. */
const CHAIN_GRACE_MS = 2 * 60_000;
const BATCH = 100;

export async function sweep(ctx: JobContext, now = Date.now()): Promise<void> {
  const { db } = ctx;

  // Transitions whose webhook fan-out never happened.
  const undispatched = await db
    .select({ id: jobTransitions.id, jobId: jobTransitions.jobId, to: jobTransitions.toStatus })
    .from(jobTransitions)
    .where(and(isNull(jobTransitions.dispatchedAt), lt(jobTransitions.at, now - OUTBOX_GRACE_MS)))
    .limit(BATCH);
  for (const transition of undispatched) {
    const job = (await db.select().from(jobs).where(eq(jobs.id, transition.jobId)))[0];
    const event = eventForStatus(transition.to as JobStatus);
    if (job && event) await dispatchJobEvent({ db, queue: ctx.env.WEBHOOKS, baseUrl: ctx.baseUrl }, job, event, transition.id);
    else await db.update(jobTransitions).set({ dispatchedAt: now }).where(eq(jobTransitions.id, transition.id));
  }

  // Deliveries recorded but never queued.
  const stuck = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.state, "pending"), eq(webhookDeliveries.attempts, 0), lt(webhookDeliveries.createdAt, now - STUCK_DELIVERY_MS)))
    .limit(BATCH);
  if (stuck.length > 0) await ctx.env.WEBHOOKS.sendBatch(stuck.map((d) => ({ body: { deliveryId: d.id } })));

  // Queued jobs: make sure their matchmaker has them; fail those long past their match deadline.
  const queued = await db.select().from(jobs).where(eq(jobs.status, "queued")).limit(1000);
  for (const job of queued) {
    const spec = job.spec as JobSpec;
    const deadline = job.createdAt + (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) * 1000;
    if (job.attempt === 0 && deadline + DEADLINE_SLACK_MS < now) {
      await endJob(ctx, job.id, "failed", "the network had no capacity for this job within its match timeout");
    } else if (job.settlement !== "reserving") {
      await matchmakerFor(ctx.env, spec).ensureQueued(queuedJobOf(job));
    }
  }

  // Running jobs whose provider stopped reporting.
  const running = await db.select().from(jobs).where(inArray(jobs.status, ["starting", "processing"])).limit(1000);
  for (const job of running) {
    const spec = job.spec as JobSpec;
    if (job.status === "processing" && job.startedAt !== null && job.startedAt + spec.timeout_s * 1000 + DEADLINE_SLACK_MS < now) {
      await endJob(ctx, job.id, "timed_out", "the provider did not report a result within the job's timeout");
    }
    if (job.status === "starting" && job.assignedAt !== null && job.assignedAt + MAX_STARTING_MS < now) {
      await endJob(ctx, job.id, "failed", "the provider never started the container");
    }
  }

  await restoreChainWork(ctx, now);

  await db.delete(idempotencyKeys).where(sql`${idempotencyKeys.expiresAt} < ${now}`);
}

/**
 * Chain work a lost enqueue may have dropped (transitions ask the relayer once and
 * only log a failure): reservations the chain never showed, and finished jobs
 * whose result or release is not on chain either. Their intents are derived again
 * and sent; the relayer ignores the ones it already has.
 */
export async function restoreChainWork(ctx: JobContext, now: number): Promise<void> {
  const { db, config } = ctx;
  if (!isChainConfigured(config) || !config.chain.relayerAddress) return;
  const stale = now - CHAIN_GRACE_MS;
  const closedOnChain = db
    .select({ one: sql`1` })
    .from(chainEvents)
    .where(and(eq(chainEvents.chainJobId, jobs.chainJobId), inArray(chainEvents.name, ["ResultSubmitted", "JobReleased"])));
  const open = await db
    .select()
    .from(jobs)
    .where(
      and(
        isNotNull(jobs.authSignature),
        or(
          and(eq(jobs.settlement, "reserving"), lt(jobs.createdAt, stale)),
          and(eq(jobs.settlement, "pending"), inArray(jobs.status, [...terminalStatuses]), lt(jobs.completedAt, stale), sql`NOT EXISTS ${closedOnChain}`),
        ),
      ),
    )
    .limit(BATCH * 5);
  const intents = open.flatMap(outstandingChainIntents);
  if (intents.length > 0) await relayerFor(ctx.env, config).enqueue(intents);
}

async function endJob(ctx: JobContext, jobId: string, to: JobStatus, error: string): Promise<void> {
  // Moved on by someone else since we looked: nothing left to do.
  await transitionIfStill(ctx, jobId, to, { error }, "sweeper");
}
