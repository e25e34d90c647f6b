// The webhook queues' messages and their typed producers. A message names only
// the delivery to attempt; everything else is in D1.
export interface WebhookMessage {
  deliveryId: string;
}

/** The dead-letter queue's name, as wrangler.toml declares it. */
export const WEBHOOK_DLQ = "pond-webhooks-dlq";

export function webhookQueue(env: Env): Queue<WebhookMessage> {
  return env.WEBHOOKS as Queue<WebhookMessage>;
}

export function deadLetterQueue(env: Env): Queue<WebhookMessage> {
  return env.WEBHOOKS_DLQ as Queue<WebhookMessage>;
}
