// The relayer: one Durable Object per signing key, so its nonces are handed out
// by one owner. Intents are persisted here (chain/relayerStore.ts); each alarm
// runs chain/relaying.ts over them, and after a restart it picks up exactly
// where it was.
import { DurableObject } from "cloudflare:workers";
import { isChainConfigured, getConfig } from "../config/config.ts";
import { publicClientOf, relayerWalletOf } from "../chain/clients.ts";
import type { Intent, IntentKind } from "../chain/intents.ts";
import { relayOnce } from "../chain/relaying.ts";
import { RelayerStore, type StoredIntent } from "../chain/relayerStore.ts";
import { markUnfunded } from "../chain/settlementUpdates.ts";
import { safeErrorText } from "../security/safeErrorText.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

export class ChainRelayer extends DurableObject<Env> {
  private readonly store: RelayerStore;
  private ticking = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RelayerStore(ctx.storage.sql);
  }

  private get config() {
    return getConfig(this.env);
  }

  async enqueue(intents: Intent[]): Promise<void> {
    const alreadyFailed = this.store.add(intents, Date.now());
    // Asked again for work that failed before (the sweeper re-derives lost work): its job may
    // not show the failure yet, if recording it failed the first time.
    await this.giveUp(alreadyFailed.filter((s) => s.intent.kind === "reserve"));
    await this.scheduleSoon(0);
  }

  /** Runs a finished intent again. */
  async reopen(kind: IntentKind, chainJobId: string): Promise<void> {
    this.store.reopen(kind, chainJobId);
    await this.scheduleSoon(0);
  }

  /** Makes sure pending work has an alarm (after a restart, the indexer calls this on every tick). */
  async ensureRunning(): Promise<void> {
    if (this.store.hasWork()) await this.scheduleSoon(0);
  }

  override async alarm(): Promise<void> {
    const config = this.config;
    if (!isChainConfigured(config) || !config.chain.relayerKey) return;
    if (this.ticking) return;
    this.ticking = true;
    try {
      await relayOnce({ store: this.store, config, client: publicClientOf(config), wallet: relayerWalletOf(config), giveUp: (intents, reason) => this.giveUp(intents, reason) });
    } catch (error) {
      // The RPC may be down: everything is persisted, the next alarm tries again.
      console.error("relayer: tick failed:", safeErrorText(error, config.chain.rpcUrl));
    } finally {
      this.ticking = false;
    }
    if (this.store.hasWork()) await this.scheduleSoon(config.chain.relayerIntervalMs);
  }

  private async scheduleSoon(delayMs: number): Promise<void> {
    const at = Date.now() + delayMs;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /**
   * Intents that will never make it. A reservation that cannot be made leaves its
   * job unfunded; the intents behind it (its result or release, their settlement)
   * failed with it and are the same job, so they have nothing more to record.
   */
  private async giveUp(intents: StoredIntent[], reason?: string): Promise<void> {
    for (const { intent, error } of intents) {
      const why = error ?? reason ?? "kept failing";
      console.error(`relayer: giving up on ${intent.kind} for ${intent.jobId}: ${why}`);
      if (intent.kind === "reserve") await markUnfunded(jobContextFor(this.env), intent.jobId, why);
    }
  }
}
