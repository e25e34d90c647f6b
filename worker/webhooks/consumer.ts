// The webhook queue's consumers: attempt each delivery, retry on the growing
// schedule, dead-letter what is spent, and disable an endpoint that says 410 Gone.
import { and, eq, ne } from "drizzle-orm";
import { deadLetterQueue, type WebhookMessage } from "../bindings/queues.ts";
import { getConfig } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { webhookDeliveries } from "../db/schema.ts";
import { followUpAttempt } from "./attemptFollowUp.ts";
import { attemptContextOf, attemptDelivery } from "./deliver.ts";
import { deliveryToAttempt } from "./deliveryRead.ts";

const finalStates = new Set(["delivered", "dead", "disabled"]);

export async function consumeWebhooks(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
  const config = getConfig(env);
  const db = createDb(env.DB);
  const ctx = attemptContextOf(config, db);
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
      const next = await followUpAttempt(env, config, db, delivery, outcome);
      if (next.kind === "retry") message.retry({ delaySeconds: next.delayS });
      else message.ack();
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
