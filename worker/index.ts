// The Worker's entry: HTTP, the webhook queues, the cron sweeper, and the
// Durable Object classes wrangler binds.
import { app } from "./app.ts";
import { indexerOf } from "./bindings/objects.ts";
import type { WebhookMessage } from "./bindings/queues.ts";
import { getConfig, isChainConfigured } from "./config/config.ts";
import { sweep } from "./cron/sweeper.ts";
import { consumeDeadLetters, consumeWebhooks } from "./webhooks/consumer.ts";
import { jobContextFor } from "./wiring/jobContext.ts";

export { ChainIndexer } from "./objects/ChainIndexer.ts";
export { ChainRelayer } from "./objects/ChainRelayer.ts";
export { CreatorAdmission } from "./objects/CreatorAdmission.ts";
export { JobRoom } from "./objects/JobRoom.ts";
export { Matchmaker } from "./objects/Matchmaker.ts";
export { ProviderHub } from "./objects/ProviderHub.ts";
export { Rendezvous } from "./objects/Rendezvous.ts";
export { SweepJudge } from "./objects/SweepJudge.ts";

export default {
  fetch: app.fetch,

  async queue(batch: MessageBatch<WebhookMessage>, env: Env): Promise<void> {
    if (batch.queue === getConfig(env).webhooks.deadLetterQueue) return consumeDeadLetters(batch, env);
    return consumeWebhooks(batch, env);
  },

  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    const config = getConfig(env);
    ctx.waitUntil(sweep(jobContextFor(env, { config })));
    // The indexer keeps itself going on its alarm; this is the safety net if it ever stopped.
    if (isChainConfigured(config)) ctx.waitUntil(indexerOf(env).ensureRunning());
  },
} satisfies ExportedHandler<Env, WebhookMessage>;
