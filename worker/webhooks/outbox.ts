// The webhook outbox, in one place. A transition's row in job_transitions is its
// outbox entry: whether a delivery is owed is decided in the batch that writes it
// (dispatchedAtSql), the fan-out (one delivery row per target, the record every
// attempt hangs off, then one queue message each) follows it, and the sweeper
// re-sends what a crash left undispatched or unqueued.
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { eventForStatus, type WebhookEventType } from "../../protocol/webhookEvents.ts";
import { webhookQueue } from "../bindings/queues.ts";
import { accounts, jobs, jobTransitions, webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import type { JobContext, TransitionListener, TransitionOutbox } from "../jobs/context.ts";
import { serializeJob, type JobRow } from "../jobs/serialize.ts";
import { randomId } from "../security/randomToken.ts";
import { attemptFirst, type FirstAttempt } from "./firstAttempt.ts";

/** What the outbox needs of a job context. */
export type OutboxContext = Pick<JobContext, "env" | "db" | "baseUrl" | "config" | "background">;

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

/** An account's endpoints, disabled ones included (api/webhooks.ts refuses more). */
export const MAX_ENDPOINTS_PER_ACCOUNT = 10;

/**
 * Fans `type` out to every target that wants it, and marks the transition dispatched, in one D1
 * batch: the endpoints are read by the statement that writes their deliveries. With a context
 * that can run work in the background, each delivery's first attempt starts at once
 * (firstAttempt.ts); otherwise the queue makes it.
 */
export async function dispatchJobEvent(
  ctx: OutboxContext,
  job: JobRow,
  type: WebhookEventType,
  transitionId?: number,
): Promise<number> {
  const { db } = ctx;
  const now = Date.now();
  const payload = JSON.stringify({ type, timestamp: new Date(now).toISOString(), data: serializeJob(job, ctx.baseUrl) });
  // Ids for the endpoints' deliveries, made here like every other id; the statement takes one per row
  // (an account has at most MAX_ENDPOINTS_PER_ACCOUNT endpoints, so there is always one).
  const endpointIds = Array.from({ length: MAX_ENDPOINTS_PER_ACCOUNT }, () => randomId("msg"));
  const ownUrl = job.webhook && (job.webhookEventsFilter as WebhookEventType[]).includes(type) ? job.webhook : null;
  const ownId = randomId("msg");
  const withSecrets = ctx.background !== undefined;

  const fanOut = db
    .insert(webhookDeliveries)
    .select(sql`SELECT
        json_extract(${JSON.stringify(endpointIds)}, '$[' || (ROW_NUMBER() OVER (ORDER BY ${webhookEndpoints.id}) - 1) || ']'),
        ${webhookEndpoints.account}, ${webhookEndpoints.id}, ${webhookEndpoints.url}, ${type}, ${job.id}, ${payload}, 'pending', 0, ${now}, NULL, NULL
      FROM ${webhookEndpoints}
      WHERE ${webhookEndpoints.account} = ${job.account} AND ${webhookEndpoints.disabledAt} IS NULL
        AND EXISTS (SELECT 1 FROM json_each(${webhookEndpoints.events}) AS wanted WHERE wanted.value = ${type})`)
    .returning({ id: webhookDeliveries.id, endpointId: webhookDeliveries.endpointId, url: webhookDeliveries.url });
  const statements: BatchItem<"sqlite">[] = [fanOut];
  /** Where each read's answer lands among the batch's results. */
  const add = (statement: BatchItem<"sqlite">) => statements.push(statement) - 1;
  const endpointSecretsAt = withSecrets ? add(db.select({ id: webhookEndpoints.id, secretEnc: webhookEndpoints.secretEnc }).from(webhookEndpoints).where(eq(webhookEndpoints.account, job.account))) : -1;
  let accountSecretAt = -1;
  if (ownUrl) {
    add(db.insert(webhookDeliveries).values({ id: ownId, account: job.account, endpointId: null, url: ownUrl, eventType: type, jobId: job.id, payload, state: "pending", createdAt: now }));
    if (withSecrets) accountSecretAt = add(db.select({ secretEnc: accounts.webhookSecretEnc }).from(accounts).where(eq(accounts.address, job.account)));
  }
  if (transitionId !== undefined) add(db.update(jobTransitions).set({ dispatchedAt: now }).where(eq(jobTransitions.id, transitionId)));
  const results = (await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]])) as unknown[];

  const fannedOut = results[0] as Array<{ id: string; endpointId: string | null; url: string }>;
  const endpointSecrets = new Map(endpointSecretsAt < 0 ? [] : (results[endpointSecretsAt] as Array<{ id: string; secretEnc: string }>).map((e) => [e.id, e.secretEnc]));
  const accountSecret = accountSecretAt < 0 ? undefined : ((results[accountSecretAt] as Array<{ secretEnc: string | null }>)[0]?.secretEnc ?? undefined);
  const delivery = (id: string, endpointId: string | null, url: string): FirstAttempt["delivery"] => ({
    id, account: job.account, endpointId, url, eventType: type, jobId: job.id, payload, state: "pending", attempts: 0, createdAt: now, lastAttemptAt: null, nextAttemptAt: null,
  });
  const attempts: FirstAttempt[] = fannedOut.map((row) => ({ delivery: delivery(row.id, row.endpointId, row.url), sealedSecret: endpointSecrets.get(row.endpointId!) }));
  if (ownUrl) attempts.push({ delivery: delivery(ownId, null, ownUrl), sealedSecret: accountSecret });

  if (attempts.length === 0) return 0;
  if (ctx.background) ctx.background(attemptFirst(ctx, attempts));
  else await webhookQueue(ctx.env).sendBatch(attempts.map((attempt) => ({ body: { deliveryId: attempt.delivery.id } })));
  return attempts.length;
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
  const { outboxGraceMs, lostAfterMs, timeoutMs } = ctx.config.webhooks;
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
  // A first attempt is made at once (firstAttempt.ts) and ends within the attempt's timeout: one never
  // made or never recorded past that and the outbox's grace was cut short (its request or object gone).
  const firstAttemptCutShort = and(
    eq(webhookDeliveries.state, "pending"),
    eq(webhookDeliveries.attempts, 0),
    isNull(webhookDeliveries.nextAttemptAt),
    lt(webhookDeliveries.createdAt, now - outboxGraceMs - timeoutMs),
  );
  const lost = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(or(and(inArray(webhookDeliveries.state, ["pending", "retrying"]), lt(dueAt, now - lostAfterMs)), firstAttemptCutShort))
    .limit(SWEEP_BATCH);
  const stuck = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: now })
    .where(inArray(webhookDeliveries.id, lost))
    .returning({ id: webhookDeliveries.id });
  if (stuck.length > 0) await webhookQueue(ctx.env).sendBatch(stuck.map((d) => ({ body: { deliveryId: d.id } })));
}
