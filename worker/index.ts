// The Worker's entry: HTTP, the webhook queues, the cron sweeper, and the
// Durable Object classes wrangler binds.
import { app } from "./app.ts";
import { isChainConfigured } from "./chain/clients.ts";
import { indexerOf } from "./chain/relayer.ts";
import { getConfig } from "./config.ts";
import type { Env } from "./env.ts";
import { sweep } from "./jobs/sweeper.ts";
import { WEBHOOK_DLQ, type WebhookMessage } from "./webhooks/message.ts";
import { consumeDeadLetters, consumeWebhooks } from "./webhooks/consumer.ts";
import { backgroundJobContext } from "./jobs/backgroundContext.ts";

export { ChainIndexer } from "./chain/ChainIndexer.ts";
export { ChainRelayer } from "./chain/ChainRelayer.ts";
export { ProviderHub } from "./hub/ProviderHub.ts";
export { Matchmaker } from "./matching/Matchmaker.ts";
export { JobRoom } from "./rooms/JobRoom.ts";

export default {
  fetch: app.fetch,

  async queue(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
    if (batch.queue === WEBHOOK_DLQ) return consumeDeadLetters(batch, env);
    return consumeWebhooks(batch, env);
  },

  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const config = getConfig(env);
    ctx.waitUntil(sweep(backgroundJobContext(env)));
    // The indexer keeps itself going on its alarm; this is the safety net if it ever stopped.
    if (isChainConfigured(config)) ctx.waitUntil(indexerOf(env).ensureRunning());
  },
} satisfies ExportedHandler<Env, WebhookMessage>;
