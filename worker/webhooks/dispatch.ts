// Fans a job event out to every webhook that wants it: one delivery row per
// target (the record every attempt hangs off), then one queue message each.
import { and, eq, isNull } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { WebhookEventType } from "../../protocol/webhookEvents.ts";
import type { Db } from "../db/client.ts";
import { jobTransitions, webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import { serializeJob, type JobRow } from "../jobs/serialize.ts";
import { randomId } from "../security/randomToken.ts";
import type { WebhookMessage } from "./message.ts";

export interface DispatchContext {
  db: Db;
  queue: Queue<WebhookMessage>;
  baseUrl: string;
}

export async function dispatchJobEvent(
  ctx: DispatchContext,
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

  if (rows.length > 0) await ctx.queue.sendBatch(rows.map((row) => ({ body: { deliveryId: row.id } })));
  return rows.length;
}
