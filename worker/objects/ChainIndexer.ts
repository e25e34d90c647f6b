// The indexer's Durable Object: one, so two readers never race on the cursor.
// It ticks on an alarm while the chain is configured (chain/indexer.ts does the
// reading), and anyone who needs a fresh view (a balance check, a provider's
// first login) can ask it to sync now.
import { DurableObject } from "cloudflare:workers";
import { hubOf, relayerOf } from "../bindings/objects.ts";
import { marketOf, publicClientOf } from "../chain/clients.ts";
import { indexOnce, type IndexResult } from "../chain/indexer.ts";
import type { Intent } from "../chain/intents.ts";
import { applySettlement } from "../chain/settlementUpdates.ts";
import { getConfig, isChainConfigured } from "../config/config.ts";
import { redactRpcUrl, safeErrorText } from "../security/safeErrorText.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

export class ChainIndexer extends DurableObject<Env> {
  private running: Promise<IndexResult | undefined> | undefined;

  /** Indexes up to the confirmed head now (joining a tick already under way), and keeps the alarm going. */
  async sync(): Promise<IndexResult | undefined> {
    const result = await this.tick();
    await this.keepTicking(result);
    return result;
  }

  /** Makes sure the alarm loop runs; cheap to call often. */
  async ensureRunning(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const result = await this.tick().catch((error: unknown) => {
      // The RPC may be away: try again on the next tick.
      console.error("indexer: tick failed:", safeErrorText(error, getConfig(this.env).chain.rpcUrl));
      return undefined;
    });
    await this.keepTicking(result);
  }

  private async keepTicking(result: IndexResult | undefined): Promise<void> {
    const config = getConfig(this.env);
    if (!isChainConfigured(config)) return;
    // The relayer keeps its own alarm; this restarts it if a restart lost it.
    if (config.chain.relayerAddress) await relayerOf(this.env, config).ensureRunning();
    // Behind: carry on at once. Caught up: look again after the interval.
    const behind = result !== undefined && (result.to < result.target || result.backlog);
    await this.ctx.storage.setAlarm(Date.now() + (behind ? 0 : config.chain.indexerIntervalMs));
  }

  private tick(): Promise<IndexResult | undefined> {
    this.running ??= this.indexNow().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async indexNow(): Promise<IndexResult | undefined> {
    const config = getConfig(this.env);
    if (!isChainConfigured(config)) return undefined;
    const ctx = jobContextFor(this.env, { config });
    const result = await indexOnce({
      db: ctx.db,
      client: publicClientOf(config),
      config,
      market: marketOf(config),
      onSettlement: (chainJobId, settlement, announce) => applySettlement(ctx, chainJobId, settlement, announce),
      onIntents: async (intents: Intent[]) => {
        if (intents.length > 0) await relayerOf(this.env, config).enqueue(intents);
      },
      onMediatorAssigned: async (jobId, chainJobId, mediator) => {
        const asked = await hubOf(this.env, config, mediator).mediate(mediator, jobId, chainJobId);
        if (!asked) console.warn(`indexer: mediator ${mediator} for ${jobId} is not connected; the challenge will expire void unless it re-runs the job itself`);
      },
      onReseeded: (chainJobId) => relayerOf(this.env, config).reopen("assign", chainJobId),
    });
    for (const failure of result.failures) console.error("indexer: follow-up failed, tried again next tick:", redactRpcUrl(failure, config.chain.rpcUrl));
    return result;
  }
}
