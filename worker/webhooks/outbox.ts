// The webhook outbox, in one place. A transition's row in job_transitions is its
// outbox entry: whether a delivery is owed is decided in the batch that writes it
// (dispatchedAtSql), the fan-out (one delivery row per target, the record every
// attempt hangs off, then one queue message each) follows it, and the sweeper
// re-sends what a crash left undispatched or unqueued.
import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { eventForStatus, type WebhookEventType } from "../../protocol/webhookEvents.ts";
import { webhookQueue } from "../bindings/queues.ts";
import { jobs, jobTransitions, webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import type { JobContext, TransitionListener, TransitionOutbox } from "../jobs/context.ts";
import { serializeJob, type JobRow } from "../jobs/serialize.ts";
import { randomId } from "../security/randomToken.ts";

/** What the outbox needs of a job context. */
export type OutboxContext = Pick<JobContext, "env" | "db" | "baseUrl" | "config">;

const SWEEP_BATCH = 100;

export const webhookOutbox: TransitionOutbox = {
  dispatchedAtSql(event, audience, now) {
    if (!event) return sql`${now}`;
    const jobListens = audience.webhook !== null && audience.webhookEventsFilter.includes(event);
    if (jobListens) return sql`NULL`;
    return sql`CASE WHEN EXISTS (
        SELECT 1 FROM ${webhookEndpoints}, json_each(${webhookEndpoints.events}) AS wanted
        WHERE ${webhookEndpoints.account} = ${audience.account} AND ${webhookEndpoints.disabledAt} IS NULL AND wanted.value = ${event}
      ) THEN NULL ELSE ${now} END`;
  },
};

/** The listener that sends a transition's webhooks when they are owed. */
export const announceToWebhooks: TransitionListener = async (ctx, { row, record }) => {
  const event = eventForStatus(row.status as JobStatus);
  if (event && record && record.dispatchedAt === null) await dispatchJobEvent(ctx, row, event, record.id);
};

/** Fans `type` out to every target that wants it; marks the transition dispatched in the same batch. */
export async function dispatchJobEvent(
  ctx: OutboxContext,
  job: JobRow,
  type: WebhookEventType,
  transitionId?: number,
): Promise<number> {
  const endpoints = await ctx.db
    .select({ id: webhookEndpoints.id, url: webhookEndpoints.url, events: webhookEndpoints.events })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.account, job.account), isNull(webhookEndpoints.disabledAt)));

  const targets: Array<{ endpointId: string | null; url: string }> = endpoints
    .filter((endpoint) => (endpoint.events as WebhookEventType[]).includes(type))
    .map((endpoint) => ({ endpointId: endpoint.id, url: endpoint.url }));
  if (job.webhook && (job.webhookEventsFilter as WebhookEventType[]).includes(type)) {
    targets.push({ endpointId: null, url: job.webhook });
  }

  const now = Date.now();
  const payload = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data: serializeJob(job, ctx.baseUrl) });
  const rows = targets.map((target) => ({
    id: randomId("msg"),
    account: job.account,
    endpointId: target.endpointId,
    url: target.url,
    eventType: type,
    jobId: job.id,
    payload,
    state: "pending" as const,
    createdAt: now,
  }));

  // One statement per row: D1 caps bound parameters per statement, not per batch.
  const writes: BatchItem<"sqlite">[] = rows.map((row) => ctx.db.insert(webhookDeliveries).values(row));
  if (transitionId !== undefined) {
    writes.push(ctx.db.update(jobTransitions).set({ dispatchedAt: now }).where(eq(jobTransitions.id, transitionId)));
  }
  if (writes.length > 0) await ctx.db.batch(writes as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);

  if (rows.length > 0) await webhookQueue(ctx.env).sendBatch(rows.map((row) => ({ body: { deliveryId: row.id } })));
  return rows.length;
}

/** The `type` of the event `POST /v1/webhooks/{id}/test` sends: a ping, about no job. */
export const TEST_EVENT = "webhook.test";

/** Sends one test event to one endpoint, recorded and retried like any delivery. Returns its id (also its webhook-id). */
export async function dispatchTestEvent(ctx: OutboxContext, endpoint: { id: string; account: string; url: string }): Promise<string> {
  const now = Date.now();
  const id = randomId("msg");
  const payload = JSON.stringify({ type: TEST_EVENT, timestamp: new Date(now).toISOString(), data: { endpoint_id: endpoint.id, message: "a test event from Pond: your endpoint is reachable and can verify our signature" } });
  await ctx.db.insert(webhookDeliveries).values({ id, account: endpoint.account, endpointId: endpoint.id, url: endpoint.url, eventType: TEST_EVENT, jobId: null, payload, state: "pending", createdAt: now });
  await webhookQueue(ctx.env).send({ deliveryId: id });
  return id;
}

/** What a crash left behind: transitions never fanned out, deliveries whose queue message was lost. */
export async function resendLostWebhooks(ctx: OutboxContext, now: number): Promise<void> {
  const { db } = ctx;
  const { outboxGraceMs, lostAfterMs } = ctx.config.webhooks;
  const undispatched = await db
    .select({ id: jobTransitions.id, jobId: jobTransitions.jobId, to: jobTransitions.toStatus })
    .from(jobTransitions)
    .where(and(isNull(jobTransitions.dispatchedAt), lt(jobTransitions.at, now - outboxGraceMs)))
    .limit(SWEEP_BATCH);
  for (const transition of undispatched) {
    const job = (await db.select().from(jobs).where(eq(jobs.id, transition.jobId)))[0];
    const event = eventForStatus(transition.to as JobStatus);
    if (job && event) await dispatchJobEvent(ctx, job, event, transition.id);
    else await db.update(jobTransitions).set({ dispatchedAt: now }).where(eq(jobTransitions.id, transition.id));
  }

  // Deliveries whose queue message is gone (a crash, a lost send): due this long ago and not
  // attempted since. Claimed by moving their due time to now, so the next sweep leaves them alone.
  const dueAt = sql`COALESCE(${webhookDeliveries.nextAttemptAt}, ${webhookDeliveries.lastAttemptAt}, ${webhookDeliveries.createdAt})`;
  const lost = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(and(inArray(webhookDeliveries.state, ["pending", "retrying"]), lt(dueAt, now - lostAfterMs)))
    .limit(SWEEP_BATCH);
  const stuck = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: now })
    .where(inArray(webhookDeliveries.id, lost))
    .returning({ id: webhookDeliveries.id });
  if (stuck.length > 0) await webhookQueue(ctx.env).sendBatch(stuck.map((d) => ({ body: { deliveryId: d.id } })));
}
