/** What travels on the webhook queue: just the delivery to attempt; the rest is in D1. */
export interface WebhookMessage {
  deliveryId: string;
}

/** Queue names, as wrangler.toml declares them. */
export const WEBHOOK_QUEUE = "pond-webhooks";
export const WEBHOOK_DLQ = "pond-webhooks-dlq";
