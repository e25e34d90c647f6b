// What follows an attempt that did not deliver, wherever it ran (the queue's consumer,
// or the first attempt made right after the event): an endpoint that said 410 Gone is
// disabled, a spent schedule goes to the dead-letter queue, anything else is retried
// on the growing schedule. The caller carries out a retry its own way (a queue
// message's retry, or a new message).
import { eq } from "drizzle-orm";
import { deadLetterQueue } from "../bindings/queues.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import type { AttemptOutcome, DeliveryRow } from "./deliver.ts";
import { nextRetryDelayS } from "./retrySchedule.ts";

export type NextStep = { kind: "done" } | { kind: "retry"; delayS: number };

export async function followUpAttempt(env: Env, config: Config, db: Db, delivery: DeliveryRow, outcome: AttemptOutcome): Promise<NextStep> {
  if (outcome.kind === "delivered") return { kind: "done" };
  if (outcome.kind === "gone") {
    await db.batch([
      db.update(webhookDeliveries).set({ state: "disabled", nextAttemptAt: null }).where(eq(webhookDeliveries.id, delivery.id)),
      ...(delivery.endpointId
        ? [db.update(webhookEndpoints).set({ disabledAt: Date.now(), disabledReason: "the endpoint answered 410 Gone" }).where(eq(webhookEndpoints.id, delivery.endpointId))]
        : []),
    ]);
    return { kind: "done" };
  }
  const delayS = nextRetryDelayS(outcome.attempts, config.webhooks.retryScheduleS, outcome.retryAfterS);
  if (delayS === undefined) {
    // Spent: hand it to the dead-letter queue, whose consumer marks it dead.
    await db.update(webhookDeliveries).set({ nextAttemptAt: null }).where(eq(webhookDeliveries.id, delivery.id));
    await deadLetterQueue(env).send({ deliveryId: delivery.id });
    return { kind: "done" };
  }
  await db
    .update(webhookDeliveries)
    .set({ state: "retrying", nextAttemptAt: Date.now() + delayS * 1000 })
    .where(eq(webhookDeliveries.id, delivery.id));
  return { kind: "retry", delayS };
}
