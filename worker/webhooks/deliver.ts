// One delivery attempt: sign (Standard Webhooks), POST with a timeout, record
// what happened. Only a 2xx counts as delivered.
import { eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { webhookAttempts, webhookDeliveries } from "../db/schema.ts";
import { openSecret } from "../security/secretBox.ts";
import { parseRetryAfter } from "./retrySchedule.ts";
import { assertWebhookUrlAllowed, resolveWithDoh, WebhookUrlError, type ResolveHost } from "./urlPolicy.ts";

export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export type AttemptOutcome =
  | { kind: "delivered"; attempts: number }
  | { kind: "gone"; attempts: number }
  | { kind: "failed"; attempts: number; retryAfterS?: number };

export interface AttemptContext {
  db: Db;
  secretsKey: string;
  timeoutMs: number;
  isProduction: boolean;
  resolve: ResolveHost;
}

export function attemptContextOf(config: Config, db: Db): AttemptContext {
  return { db, secretsKey: config.secretsKey, timeoutMs: config.webhooks.timeoutMs, isProduction: config.isProduction, resolve: resolveWithDoh };
}

/** `sealedSecret`: the secret it is signed with, as stored (deliveryRead.ts). */
export async function attemptDelivery(ctx: AttemptContext, delivery: DeliveryRow, sealedSecret: string | undefined): Promise<AttemptOutcome> {
  const startedAt = Date.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  let retryAfterS: number | undefined;
  try {
    await assertWebhookUrlAllowed(delivery.url, { isProduction: ctx.isProduction, resolve: ctx.resolve });
    if (sealedSecret === undefined) throw new Error("the signing secret for this delivery no longer exists");
    const secret = await openSecret(ctx.secretsKey, sealedSecret);
    const timestamp = new Date();
    const response = await fetch(delivery.url, {
      method: "POST",
      body: delivery.payload,
      redirect: "manual",
      signal: AbortSignal.timeout(ctx.timeoutMs),
      headers: {
        "content-type": "application/json",
        "user-agent": "Pond-Webhooks/1",
        "webhook-id": delivery.id,
        "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign(delivery.id, timestamp, delivery.payload),
      },
    });
    statusCode = response.status;
    retryAfterS = parseRetryAfter(response.headers.get("retry-after"), Date.now());
    // The body is not needed; cancel it so the connection is released.
    await response.body?.cancel();
    if (!response.ok) error = `endpoint answered HTTP ${response.status}`;
  } catch (cause) {
    error = describeFailure(cause, ctx.timeoutMs);
  }

  const latencyMs = Date.now() - startedAt;
  const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
  const [updated] = await ctx.db.batch([
    ctx.db
      .update(webhookDeliveries)
      .set({
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        lastAttemptAt: startedAt,
        ...(delivered ? { state: "delivered" as const, nextAttemptAt: null } : {}),
      })
      .where(eq(webhookDeliveries.id, delivery.id))
      .returning({ attempts: webhookDeliveries.attempts }),
    ctx.db.insert(webhookAttempts).values({ deliveryId: delivery.id, attemptedAt: startedAt, statusCode, latencyMs, error }),
  ]);
  const attempts = updated[0]?.attempts ?? delivery.attempts + 1;
  if (delivered) return { kind: "delivered", attempts };
  if (statusCode === 410) return { kind: "gone", attempts };
  return { kind: "failed", attempts, ...(retryAfterS !== undefined ? { retryAfterS } : {}) };
}

function describeFailure(cause: unknown, timeoutMs: number): string {
  if (cause instanceof WebhookUrlError) return cause.message;
  if (cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  return cause instanceof Error ? `request failed: ${cause.message}` : "request failed";
}
