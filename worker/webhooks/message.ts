/** What travels on the webhook queue: just the delivery to attempt; the rest is in D1. */
export interface WebhookMessage {
  deliveryId: string;
}

/** The dead-letter queue's name, as wrangler.toml declares it. */
export const WEBHOOK_DLQ = "pond-webhooks-dlq";
