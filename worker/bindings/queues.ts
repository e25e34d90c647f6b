// The webhook queues' messages and their typed producers. A message names only
// the delivery to attempt; everything else is in D1.
export interface WebhookMessage {
  deliveryId: string;
}

export function webhookQueue(env: Env): Queue<WebhookMessage> {
  return env.WEBHOOKS as Queue<WebhookMessage>;
}

export function deadLetterQueue(env: Env): Queue<WebhookMessage> {
  return env.WEBHOOKS_DLQ as Queue<WebhookMessage>;
}
