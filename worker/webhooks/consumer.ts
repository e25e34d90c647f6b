// The webhook queue's consumers: attempt each delivery, retry on the growing
// schedule, dead-letter what is spent, and disable an endpoint that says 410 Gone.
import { and, eq, ne } from "drizzle-orm";
import { deadLetterQueue, type WebhookMessage } from "../bindings/queues.ts";
import { getConfig } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { webhookDeliveries, webhookEndpoints } from "../db/schema.ts";
import { attemptDelivery, type AttemptContext } from "./deliver.ts";
import { deliveryToAttempt } from "./deliveryRead.ts";
import { nextRetryDelayS } from "./retrySchedule.ts";
import { resolveWithDoh } from "./urlPolicy.ts";

const finalStates = new Set(["delivered", "dead", "disabled"]);

export async function consumeWebhooks(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  const config = getConfig(env);
  const db = createDb(env.DB);
  const ctx: AttemptContext = {
    db,
    secretsKey: config.secretsKey,
    timeoutMs: config.webhooks.timeoutMs,
    isProduction: config.isProduction,
    resolve: resolveWithDoh,
  };
  // Deliveries are independent: one slow endpoint must not hold up the others.
  await Promise.all(
    batch.messages.map(async (message) => {
      const found = await deliveryToAttempt(db, message.body.deliveryId);
      if (!found || finalStates.has(found.delivery.state)) return message.ack();
      const { delivery } = found;

      if (found.endpointClosed) {
        await db.update(webhookDeliveries).set({ state: "disabled", nextAttemptAt: null }).where(eq(webhookDeliveries.id, delivery.id));
        return message.ack();
      }

      // Its schedule was spent before a crash lost the dead-letter hand-off: the sweeper sent it again.
      if (delivery.attempts > config.webhooks.retryScheduleS.length) {
        await deadLetterQueue(env).send({ deliveryId: delivery.id });
        return message.ack();
      }

      const outcome = await attemptDelivery(ctx, delivery, found.sealedSecret);
      if (outcome.kind === "delivered") return message.ack();
      if (outcome.kind === "gone") {
        await db.batch([
          db.update(webhookDeliveries).set({ state: "disabled", nextAttemptAt: null }).where(eq(webhookDeliveries.id, delivery.id)),
          ...(delivery.endpointId
            ? [db.update(webhookEndpoints).set({ disabledAt: Date.now(), disabledReason: "the endpoint answered 410 Gone" }).where(eq(webhookEndpoints.id, delivery.endpointId))]
            : []),
        ]);
        return message.ack();
      }

      const delayS = nextRetryDelayS(outcome.attempts, config.webhooks.retryScheduleS, outcome.retryAfterS);
      if (delayS === undefined) {
        // Spent: hand it to the dead-letter queue, whose consumer marks it dead.
        await db.update(webhookDeliveries).set({ nextAttemptAt: null }).where(eq(webhookDeliveries.id, delivery.id));
        await deadLetterQueue(env).send({ deliveryId: delivery.id });
        return message.ack();
      }
      await db
        .update(webhookDeliveries)
        .set({ state: "retrying", nextAttemptAt: Date.now() + delayS * 1000 })
        .where(eq(webhookDeliveries.id, delivery.id));
      message.retry({ delaySeconds: delayS });
    }),
  );
}

/** Dead letters: whatever arrives here (spent schedules, or messages the platform gave up on) is dead. */
export async function consumeDeadLetters(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  const db = createDb(env.DB);
  for (const message of batch.messages) {
    await db
      .update(webhookDeliveries)
      .set({ state: "dead", nextAttemptAt: null })
      .where(and(eq(webhookDeliveries.id, message.body.deliveryId), ne(webhookDeliveries.state, "delivered")));
    message.ack();
  }
}
