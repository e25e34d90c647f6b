// The relayer: one Durable Object per signing key, so its nonces are handed
// out by one owner. It batches intents into transactions, persists every
// transaction before broadcasting it, watches receipts on an alarm, replaces
// a transaction stuck in the mempool with higher fees (same nonce), and after
// a restart picks up exactly where it was. The contract skips jobs already past
// a step, so even a repeated send never pays twice.
import { DurableObject } from "cloudflare:workers";
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, ExecutionRevertedError, keccak256, TransactionReceiptNotFoundError, type Hex, type TransactionReceipt } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { getConfig } from "../config.ts";
import type { Env } from "../env.ts";
import { isChainConfigured, marketOf, publicClientOf, relayerWalletOf, type ChainPublicClient, type RelayerWallet } from "./clients.ts";
import { batchCalldata, dependsOn, intentKinds, revertVerdict, singleJobKinds, type Intent, type IntentKind } from "./intents.ts";
import { RelayerStore, type StoredIntent, type StoredTx } from "./relayerStore.ts";
import { challengeAnswer, reservationAnswer, type ChainAnswer } from "./revertChecks.ts";
import { safeErrorText } from "./safeErrorText.ts";
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
      console.error("relayer: tick failed:", this.describe(error));
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
    const sent = this.store.sentTxs();
    if (sent.length === 0) return;
    // Read before the receipts: a nonce used as of this read has its receipt visible to the reads after it,
    // so "used, and none of our hashes has a receipt" really means another transaction took it.
    const confirmedNonce = await client.getTransactionCount({ address: wallet.account.address, blockTag: "latest" });
    for (const tx of sent) {
      let receipt: TransactionReceipt | null;
      try {
        receipt = await this.receiptOf(client, tx);
      } catch (error) {
        // Not an answer: the transaction may well be mined. Look again on the next tick.
        console.warn(`relayer: reading the receipts of nonce ${tx.nonce} failed; trying again:`, this.describe(error));
        continue;
      }
      if (receipt) {
        if (receipt.status === "success") {
          this.store.finishTx(tx.id, "mined", Number(receipt.blockNumber), receipt.gasUsed);
        } else {
          this.store.finishTx(tx.id, "reverted", Number(receipt.blockNumber), receipt.gasUsed);
          await this.giveUp(this.store.retryAlone(tx.id, MAX_ATTEMPTS, `the transaction ${receipt.transactionHash} reverted`));
        }
        continue;
      }
      if (confirmedNonce > tx.nonce) {
        // The nonce is used but by none of our hashes: re-send the work under a new nonce. The contract skips
        // anything already done, and a reservation that is already there is recognised (JobIdUsed), so this
        // cannot pay or reserve twice.
        if (Date.now() - tx.sentAt > this.config.chain.replaceAfterMs) this.store.requeue(tx.id);
        continue;
      }
      // Not mined after RELAYER_REPLACE_AFTER_MS: sent again with higher fees, same nonce.
      if (Date.now() - tx.sentAt > this.config.chain.replaceAfterMs) await this.replace(client, wallet, tx);
      else await this.rebroadcast(client, tx);
    }
  }

  /** The receipt of whichever of the transaction's hashes was mined; null when none was. Throws when the node could not say. */
  private async receiptOf(client: ChainPublicClient, tx: StoredTx): Promise<TransactionReceipt | null> {
    for (const hash of [...tx.hashes].reverse()) {
      try {
        return await client.getTransactionReceipt({ hash });
      } catch (error) {
        if (!(error instanceof TransactionReceiptNotFoundError)) throw error;
      }
    }
    return null;
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
    await client.sendRawTransaction({ serializedTransaction: raw }).catch((error: unknown) => console.warn(`relayer: replacement ${hash} refused:`, this.describe(error)));
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
        if (reason === undefined) {
          good.push(single);
          continue;
        }
        const verdict = revertVerdict(kind, reason);
        const answer: ChainAnswer = verdict === "ask-chain" ? await this.askChain(client, single.intent) : verdict;
        if (answer === "wait") continue; // stays pending for a later tick
        if (answer === "done") this.store.settle(single.id);
        else await this.giveUp(this.store.fail(single.id, reason), reason);
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
      if (/nonce too low|nonce.*already/i.test(safeErrorText(error, this.config.chain.rpcUrl))) {
        // Someone (or a previous life of this object) used the nonce: resync and send the work again.
        this.store.requeue(txId);
        this.store.setNextNonce(await client.getTransactionCount({ address, blockTag: "pending" }));
        return;
      }
      // Kept as sent: the next tick rebroadcasts or replaces it.
      console.warn(`relayer: broadcasting ${hash} failed:`, this.describe(error));
    }
  }

  private async simulates(client: ChainPublicClient, wallet: RelayerWallet, to: Hex, data: Hex): Promise<boolean> {
    return (await this.revertReason(client, wallet, to, data)) === undefined;
  }

  /** The error a call reverts with; undefined if it goes through. Throws when the node could not run the call at all. */
  private async revertReason(client: ChainPublicClient, wallet: RelayerWallet, to: Hex, data: Hex): Promise<string | undefined> {
    try {
      await client.call({ account: wallet.account.address, to, data });
      return undefined;
    } catch (error) {
      const reason = describeRevert(error);
      // An RPC outage is no verdict on the intent: the tick fails and the intent waits.
      if (reason === undefined) throw error;
      return this.describe(reason);
    }
  }

  /** Reads the chain to tell whether a revert means our intent is already there. */
  private async askChain(client: ChainPublicClient, intent: Intent): Promise<ChainAnswer> {
    const market = { client, address: marketOf(this.config), startBlock: this.config.chain.startBlock };
    return intent.kind === "reserve" ? reservationAnswer(market, intent) : challengeAnswer(market, intent);
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
      if (intent.kind === "reserve") await markUnfunded(this.env, intent.jobId, why);
    }
  }

  private describe(error: unknown): string {
    return safeErrorText(error, this.config.chain.rpcUrl);
  }
}

/** The contract error a call reverted with (its name when the market's ABI knows it); undefined when it did not revert. */
function describeRevert(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) return reverted.data.errorName;
  const data = (error.walk((e) => typeof (e as { data?: unknown }).data === "string") as { data?: Hex } | null)?.data;
  if (data) {
    try {
      return decodeErrorResult({ abi: pondMarketAbi, data }).errorName;
    } catch {
      // Not one of the market's errors: a revert all the same.
    }
  }
  const revertedOther = data !== undefined || error.walk((e) => e instanceof ExecutionRevertedError) !== null;
  return revertedOther ? error.shortMessage : undefined;
}
