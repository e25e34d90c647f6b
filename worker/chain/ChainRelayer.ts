// The relayer: one Durable Object per signing key, so its nonces are handed
// out by one owner. It batches intents into transactions, persists every
// transaction before broadcasting it, watches receipts on an alarm, replaces
// a transaction stuck in the mempool with higher fees (same nonce), and after
// a restart picks up exactly where it was. The contract skips jobs already past
// a step, so even a repeated send never pays twice.
import { DurableObject } from "cloudflare:workers";
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, keccak256, type Hex } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { getConfig } from "../config.ts";
import type { Env } from "../env.ts";
import { isChainConfigured, marketOf, publicClientOf, relayerWalletOf, type ChainPublicClient, type RelayerWallet } from "./clients.ts";
import { alreadyDoneErrors, batchCalldata, dependsOn, intentKinds, notYetErrors, singleJobKinds, type Intent, type IntentKind } from "./intents.ts";
import { RelayerStore, type StoredIntent, type StoredTx } from "./relayerStore.ts";
import { markUnfunded } from "./settlementUpdates.ts";

/** Fee bump for a replacement: nodes want at least +10%. */
const FEE_BUMP_PERCENT = 25n;
/** A batch that reverts is split; an intent that keeps failing alone is given up on. */
const MAX_ATTEMPTS = 3;

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
    this.store.add(intents, Date.now());
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

  /** Intent and transaction counts (operators and tests). */
  async status(): Promise<{ intents: Record<string, number>; sent: number }> {
    return { intents: this.store.counts(), sent: this.store.sentTxs().length };
  }

  override async alarm(): Promise<void> {
    if (!isChainConfigured(this.config) || !this.config.chain.relayerKey) return;
    if (this.ticking) return;
    this.ticking = true;
    try {
      const client = publicClientOf(this.config);
      const wallet = relayerWalletOf(this.config);
      await this.checkSent(client, wallet);
      await this.sendReady(client, wallet);
    } catch (error) {
      // The RPC may be down: everything is persisted, the next alarm tries again.
      console.error("relayer: tick failed:", error instanceof Error ? error.message : error);
    } finally {
      this.ticking = false;
    }
    if (this.store.hasWork()) await this.scheduleSoon(this.config.chain.relayerIntervalMs);
  }

  private async scheduleSoon(delayMs: number): Promise<void> {
    const at = Date.now() + delayMs;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  // ---- receipts and replacements ----

  private async checkSent(client: ChainPublicClient, wallet: RelayerWallet): Promise<void> {
    for (const tx of this.store.sentTxs()) {
      const receipt = await this.receiptOf(client, tx);
      if (receipt) {
        if (receipt.status === "success") {
          this.store.finishTx(tx.id, "mined", Number(receipt.blockNumber), receipt.gasUsed);
        } else {
          this.store.finishTx(tx.id, "reverted", Number(receipt.blockNumber), receipt.gasUsed);
          await this.giveUp(this.store.retryAlone(tx.id, MAX_ATTEMPTS, `the transaction ${receipt.transactionHash} reverted`));
        }
        continue;
      }
      const confirmedNonce = await client.getTransactionCount({ address: wallet.account.address, blockTag: "latest" });
      if (confirmedNonce > tx.nonce) {
        // The nonce is used but by none of our hashes we can see: re-send the work under a new nonce.
        // The contract skips anything already done, so this cannot pay twice.
        if (Date.now() - tx.sentAt > this.config.chain.replaceAfterMs) this.store.requeue(tx.id);
        continue;
      }
      // Not mined after RELAYER_REPLACE_AFTER_MS: sent again with higher fees, same nonce.
      if (Date.now() - tx.sentAt > this.config.chain.replaceAfterMs) await this.replace(client, wallet, tx);
      else await this.rebroadcast(client, tx);
    }
  }

  private async receiptOf(client: ChainPublicClient, tx: StoredTx) {
    for (const hash of [...tx.hashes].reverse()) {
      const receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined);
      if (receipt) return receipt;
    }
    return undefined;
  }

  /** A transaction persisted before a crash may never have reached the node: sending it again is harmless. */
  private async rebroadcast(client: ChainPublicClient, tx: StoredTx): Promise<void> {
    await client.sendRawTransaction({ serializedTransaction: tx.raw }).catch(() => undefined);
  }

  private async replace(client: ChainPublicClient, wallet: RelayerWallet, tx: StoredTx): Promise<void> {
    const fees = await client.estimateFeesPerGas();
    const bump = (old: bigint, market: bigint) => {
      const bumped = (old * (100n + FEE_BUMP_PERCENT)) / 100n;
      return bumped > market ? bumped : market;
    };
    const maxFeePerGas = bump(tx.maxFeePerGas, fees.maxFeePerGas);
    const maxPriorityFeePerGas = bump(tx.maxPriorityFeePerGas, fees.maxPriorityFeePerGas);
    const raw = await wallet.signTransaction({
      to: marketOf(this.config),
      data: tx.data,
      nonce: tx.nonce,
      gas: tx.gas,
      maxFeePerGas,
      maxPriorityFeePerGas,
      chain: wallet.chain,
      account: wallet.account,
    });
    const hash = keccak256(raw);
    this.store.replaced(tx.id, hash, raw, maxFeePerGas, maxPriorityFeePerGas, Date.now());
    await client.sendRawTransaction({ serializedTransaction: raw }).catch((error: unknown) => console.warn(`relayer: replacement ${hash} refused:`, errorMessage(error)));
  }

  // ---- new batches ----

  private async sendReady(client: ChainPublicClient, wallet: RelayerWallet): Promise<void> {
    const chainTime = Number((await client.getBlock({ blockTag: "latest" })).timestamp);
    for (const kind of intentKinds) {
      const ready = this.store.ready(kind, dependsOn[kind], chainTime, this.config.chain.relayerBatchSize);
      if (ready.length === 0) continue;
      // Intents that failed inside a batch go alone, so one bad job cannot hold the others back;
      // single-job calls always do.
      const batches = singleJobKinds.has(kind) ? ready.map((r) => [r]) : ready[0]!.solo ? [[ready[0]!]] : [ready.filter((r) => !r.solo)];
      for (const batch of batches) await this.sendBatch(client, wallet, kind, batch);
    }
  }

  private async sendBatch(client: ChainPublicClient, wallet: RelayerWallet, kind: IntentKind, batch: StoredIntent[]): Promise<void> {
    const to = marketOf(this.config);
    let good = batch;
    let data = batchCalldata(kind, good.map((s) => s.intent));
    // Simulate first: a batch reverts as a whole, so find and set aside what would fail.
    if (!(await this.simulates(client, wallet, to, data))) {
      good = [];
      for (const single of batch) {
        const reason = await this.revertReason(client, wallet, to, batchCalldata(kind, [single.intent]));
        if (reason === undefined) good.push(single);
        else if (notYetErrors.has(reason)) continue; // stays pending for a later tick
        else if (alreadyDoneErrors.has(reason)) this.store.settle(single.id);
        else {
          this.store.fail(single.id, reason);
          await this.giveUp([{ ...single }], reason);
        }
      }
      if (good.length === 0) return;
      data = batchCalldata(kind, good.map((s) => s.intent));
    }

    const address = wallet.account.address;
    const nonce = this.store.nextNonce() ?? (await client.getTransactionCount({ address, blockTag: "pending" }));
    const [gas, fees] = await Promise.all([client.estimateGas({ account: address, to, data }), client.estimateFeesPerGas()]);
    const gasLimit = (gas * 12n) / 10n;
    const raw = await wallet.signTransaction({ to, data, nonce, gas: gasLimit, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, chain: wallet.chain, account: wallet.account });
    const hash = keccak256(raw);
    // Persisted before it is broadcast: a crash from here on resends this very transaction.
    const txId = this.store.recordTx({ kind, nonce, hashes: [hash], raw, data, gas: gasLimit, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, sentAt: Date.now() });
    this.store.markSent(good.map((s) => s.id), txId);
    this.store.setNextNonce(nonce + 1);
    try {
      await client.sendRawTransaction({ serializedTransaction: raw });
    } catch (error) {
      if (/nonce too low|nonce.*already/i.test(errorMessage(error))) {
        // Someone (or a previous life of this object) used the nonce: resync and send the work again.
        this.store.requeue(txId);
        this.store.setNextNonce(await client.getTransactionCount({ address, blockTag: "pending" }));
        return;
      }
      // Kept as sent: the next tick rebroadcasts or replaces it.
      console.warn(`relayer: broadcasting ${hash} failed:`, errorMessage(error));
    }
  }

  private async simulates(client: ChainPublicClient, wallet: RelayerWallet, to: Hex, data: Hex): Promise<boolean> {
    return (await this.revertReason(client, wallet, to, data)) === undefined;
  }

  private async revertReason(client: ChainPublicClient, wallet: RelayerWallet, to: Hex, data: Hex): Promise<string | undefined> {
    try {
      await client.call({ account: wallet.account.address, to, data });
      return undefined;
    } catch (error) {
      return describeRevert(error);
    }
  }

  /** Intents that will never make it: a reservation that cannot be made leaves its job unfunded. */
  private async giveUp(intents: StoredIntent[], reason?: string): Promise<void> {
    for (const { intent } of intents) {
      console.error(`relayer: giving up on ${intent.kind} for ${intent.jobId}: ${reason ?? "kept failing"}`);
      if (intent.kind === "reserve") await markUnfunded(this.env, intent.jobId, reason ?? "the escrow reservation kept failing");
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
}

function describeRevert(error: unknown): string {
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) return reverted.data.errorName;
    const data = (error.walk((e) => typeof (e as { data?: unknown }).data === "string") as { data?: Hex } | null)?.data;
    if (data) {
      try {
        return decodeErrorResult({ abi: pondMarketAbi, data }).errorName;
      } catch {
        // Not one of the market's errors: fall through to the message.
      }
    }
    return error.shortMessage;
  }
  return String(error);
}
