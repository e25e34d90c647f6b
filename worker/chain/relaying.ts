// Getting intents on chain (docs/architecture.md "Settlement batching"): ready
// intents are batched per kind, simulated (what would revert is set aside, not
// the batch; what passes alone but not together waits for the next batch), signed, persisted as a transaction, then broadcast; sent
// transactions are watched for receipts, rebroadcast after a restart, and
// replaced with higher fees (same nonce) when stuck. The contract skips jobs
// already past a step, so even a repeated send never pays twice.
// Called by the relayer object (objects/ChainRelayer.ts) on its alarm.
import { BaseError, ContractFunctionRevertedError, decodeErrorResult, ExecutionRevertedError, keccak256, TransactionReceiptNotFoundError, type Hex, type TransactionReceipt } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import type { Config } from "../config/config.ts";
import { safeErrorText } from "../security/safeErrorText.ts";
import { marketOf, type ChainPublicClient, type RelayerWallet } from "./clients.ts";
import { batchCalldata, dependsOn, hopelessReason, intentKinds, revertVerdict, singleJobKinds, type Intent, type IntentKind } from "./intents.ts";
import type { RelayerStore, StoredIntent, StoredTx } from "./relayerStore.ts";
import { challengeAnswer, reservationAnswer, type ChainAnswer } from "./revertChecks.ts";

/** Fee bump for a replacement: nodes want at least +10%. */
const FEE_BUMP_PERCENT = 25n;
/** A batch that reverts is split; an intent that keeps failing alone is given up on. */
const MAX_ATTEMPTS = 3;

export interface Relaying {
  store: RelayerStore;
  config: Config;
  client: ChainPublicClient;
  wallet: RelayerWallet;
  /** Intents that will never make it: a reservation's job is then unfunded. */
  giveUp(intents: StoredIntent[], reason?: string): Promise<void>;
}

/** One tick: receipts of what was sent, then new batches of what is ready. */
export async function relayOnce(r: Relaying): Promise<void> {
  await checkSent(r);
  await sendReady(r);
}

// ---- receipts and replacements ----

async function checkSent(r: Relaying): Promise<void> {
  const sent = r.store.sentTxs();
  if (sent.length === 0) return;
  // Read before the receipts: a nonce used as of this read has its receipt visible to the reads after it,
  // so "used, and none of our hashes has a receipt" really means another transaction took it.
  const confirmedNonce = await r.client.getTransactionCount({ address: r.wallet.account.address, blockTag: "latest" });
  for (const tx of sent) {
    let receipt: TransactionReceipt | null;
    try {
      receipt = await receiptOf(r.client, tx);
    } catch (error) {
      // Not an answer: the transaction may well be mined. Look again on the next tick.
      console.warn(`relayer: reading the receipts of nonce ${tx.nonce} failed; trying again:`, describe(r, error));
      continue;
    }
    if (receipt) {
      if (receipt.status === "success") {
        r.store.finishTx(tx.id, "mined", Number(receipt.blockNumber), receipt.gasUsed);
      } else {
        r.store.finishTx(tx.id, "reverted", Number(receipt.blockNumber), receipt.gasUsed);
        await r.giveUp(r.store.retryAlone(tx.id, MAX_ATTEMPTS, `the transaction ${receipt.transactionHash} reverted`));
      }
      continue;
    }
    if (confirmedNonce > tx.nonce) {
      // The nonce is used but by none of our hashes: re-send the work under a new nonce. The contract skips
      // anything already done, and a reservation that is already there is recognised (JobIdUsed), so this
      // cannot pay or reserve twice.
      if (Date.now() - tx.sentAt > r.config.chain.replaceAfterMs) r.store.requeue(tx.id);
      continue;
    }
    // Not mined after RELAYER_REPLACE_AFTER_MS: sent again with higher fees, same nonce.
    if (Date.now() - tx.sentAt > r.config.chain.replaceAfterMs) await replace(r, tx);
    else await rebroadcast(r.client, tx);
  }
}

/** The receipt of whichever of the transaction's hashes was mined; null when none was. Throws when the node could not say. */
async function receiptOf(client: ChainPublicClient, tx: StoredTx): Promise<TransactionReceipt | null> {
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
async function rebroadcast(client: ChainPublicClient, tx: StoredTx): Promise<void> {
  await client.sendRawTransaction({ serializedTransaction: tx.raw }).catch(() => undefined);
}

async function replace(r: Relaying, tx: StoredTx): Promise<void> {
  const fees = await r.client.estimateFeesPerGas();
  const bump = (old: bigint, market: bigint) => {
    const bumped = (old * (100n + FEE_BUMP_PERCENT)) / 100n;
    return bumped > market ? bumped : market;
  };
  const maxFeePerGas = bump(tx.maxFeePerGas, fees.maxFeePerGas);
  const maxPriorityFeePerGas = bump(tx.maxPriorityFeePerGas, fees.maxPriorityFeePerGas);
  const raw = await r.wallet.signTransaction({
    to: marketOf(r.config),
    data: tx.data,
    nonce: tx.nonce,
    gas: tx.gas,
    maxFeePerGas,
    maxPriorityFeePerGas,
    chain: r.wallet.chain,
    account: r.wallet.account,
  });
  const hash = keccak256(raw);
  r.store.replaced(tx.id, hash, raw, maxFeePerGas, maxPriorityFeePerGas, Date.now());
  await r.client.sendRawTransaction({ serializedTransaction: raw }).catch((error: unknown) => console.warn(`relayer: replacement ${hash} refused:`, describe(r, error)));
}

// ---- new batches ----

async function sendReady(r: Relaying): Promise<void> {
  const chainTime = Number((await r.client.getBlock({ blockTag: "latest" })).timestamp);
  for (const kind of intentKinds) {
    const ready = await withoutHopeless(r, r.store.ready(kind, dependsOn[kind], chainTime, r.config.chain.relayerBatchSize), chainTime);
    if (ready.length === 0) continue;
    // Intents that failed inside a batch go alone, each in a transaction of its own beside the
    // batch of the rest, so one bad job cannot hold the others back; single-job calls always do.
    const solo = ready.filter((i) => i.solo || singleJobKinds.has(kind));
    const together = ready.filter((i) => !solo.includes(i));
    const batches = [...solo.map((i) => [i]), ...(together.length > 0 ? [together] : [])];
    for (const batch of batches) {
      try {
        await sendBatch(r, kind, batch);
      } catch (error) {
        // One batch the node would not take (an RPC hiccup, a revert found only by estimateGas) waits for the next
        // tick; the other kinds, the other jobs, go now.
        console.warn(`relayer: sending ${batch.length} ${kind} intent(s) failed; trying again next tick:`, describe(r, error));
      }
    }
  }
}

/** Fails, each on its own and with its reason, the intents that can never go on chain; returns the rest. */
async function withoutHopeless(r: Relaying, intents: StoredIntent[], chainTime: number): Promise<StoredIntent[]> {
  const rest: StoredIntent[] = [];
  for (const stored of intents) {
    const reason = hopelessReason(stored.intent, chainTime);
    if (reason === undefined) {
      rest.push(stored);
      continue;
    }
    await r.giveUp(r.store.fail(stored.id, reason), reason);
  }
  return rest;
}

async function sendBatch(r: Relaying, kind: IntentKind, batch: StoredIntent[]): Promise<void> {
  const { client, wallet, store } = r;
  const to = marketOf(r.config);
  let good = batch;
  let data = batchCalldata(kind, good.map((s) => s.intent));
  // Simulate first: a batch reverts as a whole, so find and set aside what would fail.
  if ((await revertOf(r, to, data)) !== undefined) {
    good = [];
    for (const single of batch) {
      const revert = await revertOf(r, to, batchCalldata(kind, [single.intent]));
      if (revert === undefined) {
        good.push(single);
        continue;
      }
      const { reason } = revert;
      const verdict = revertVerdict(kind, reason);
      const answer: ChainAnswer = verdict === "ask-chain" ? await askChain(r, single.intent) : verdict;
      if (answer === "wait") continue; // stays pending for a later tick
      if (answer === "done") store.settle(single.id);
      else await r.giveUp(store.fail(single.id, reason), reason);
    }
    good = await passingTogether(r, to, kind, good);
    if (good.length === 0) return;
    data = batchCalldata(kind, good.map((s) => s.intent));
  }

  const address = wallet.account.address;
  const nonce = store.nextNonce() ?? (await client.getTransactionCount({ address, blockTag: "pending" }));
  const [gas, fees] = await Promise.all([client.estimateGas({ account: address, to, data }), client.estimateFeesPerGas()]);
  const gasLimit = (gas * 12n) / 10n;
  const raw = await wallet.signTransaction({ to, data, nonce, gas: gasLimit, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, chain: wallet.chain, account: wallet.account });
  const hash = keccak256(raw);
  // Persisted before it is broadcast: a crash from here on resends this very transaction.
  const txId = store.recordTx({ kind, nonce, hashes: [hash], raw, data, gas: gasLimit, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, sentAt: Date.now() });
  store.markSent(good.map((s) => s.id), txId);
  store.setNextNonce(nonce + 1);
  try {
    await client.sendRawTransaction({ serializedTransaction: raw });
  } catch (error) {
    if (/nonce too low|nonce.*already/i.test(safeErrorText(error, r.config.chain.rpcUrl))) {
      // Someone (or a previous life of this object) used the nonce: resync and send the work again.
      store.requeue(txId);
      store.setNextNonce(await client.getTransactionCount({ address, blockTag: "pending" }));
      return;
    }
    // Kept as sent: the next tick rebroadcasts or replaces it.
    console.warn(`relayer: broadcasting ${hash} failed:`, describe(r, error));
  }
}

/**
 * What of `intents` (each of which passes alone) can go in one transaction. Together they can still
 * revert: one creator's reservations that each fit the escrow but not all at once. The job a revert
 * names is left out and the rest tried again; a revert that names none of them keeps the longest
 * prefix that passes (the first intent always does). What is left out stays pending: next tick it
 * meets the chain as it is once this batch is mined, and then goes, or fails on its own. So one
 * creator's jobs never hold back everyone else's.
 */
async function passingTogether(r: Relaying, to: Hex, kind: IntentKind, intents: StoredIntent[]): Promise<StoredIntent[]> {
  let together = intents;
  while (together.length > 1) {
    const revert = await revertOf(r, to, batchCalldata(kind, together.map((s) => s.intent)));
    if (revert === undefined) return together;
    const named = revert.jobId === undefined ? -1 : together.findIndex((s) => s.intent.chainJobId.toLowerCase() === revert.jobId);
    if (named < 0) return longestPassingPrefix(r, to, kind, together);
    console.warn(`relayer: ${kind} for ${together[named]!.intent.jobId} passes alone but not with its batch (${revert.reason}); it waits for the next batch`);
    together = together.filter((_, i) => i !== named);
  }
  return together;
}

/** Binary search for the longest prefix of `intents` that passes together; `intents[0]` passes alone. */
async function longestPassingPrefix(r: Relaying, to: Hex, kind: IntentKind, intents: StoredIntent[]): Promise<StoredIntent[]> {
  let passes = 1;
  let fails = intents.length;
  while (fails - passes > 1) {
    const middle = Math.floor((passes + fails) / 2);
    if ((await revertOf(r, to, batchCalldata(kind, intents.slice(0, middle).map((s) => s.intent)))) === undefined) passes = middle;
    else fails = middle;
  }
  return intents.slice(0, passes);
}

interface Revert {
  /** The contract error's name when the market's ABI knows it, else the node's message. */
  reason: string;
  /** The job the error names (the market's errors name it first), lower case. */
  jobId?: string;
}

/** What a call reverts with; undefined if it goes through. Throws when the node could not run the call at all. */
async function revertOf(r: Relaying, to: Hex, data: Hex): Promise<Revert | undefined> {
  try {
    await r.client.call({ account: r.wallet.account.address, to, data });
    return undefined;
  } catch (error) {
    const revert = describeRevert(error);
    // An RPC outage is no verdict on the intent: the tick fails and the intent waits.
    if (revert === undefined) throw error;
    return { ...revert, reason: describe(r, revert.reason) };
  }
}

/** Reads the chain to tell whether a revert means our intent is already there. */
async function askChain(r: Relaying, intent: Intent): Promise<ChainAnswer> {
  const market = { client: r.client, address: marketOf(r.config), startBlock: r.config.chain.startBlock };
  return intent.kind === "reserve" ? reservationAnswer(market, intent) : challengeAnswer(market, intent);
}

function describe(r: Relaying, error: unknown): string {
  return safeErrorText(error, r.config.chain.rpcUrl);
}

/** The contract error a call reverted with (its name, and its job, when the market's ABI knows it); undefined when it did not revert. */
function describeRevert(error: unknown): Revert | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) return namedRevert(reverted.data);
  const data = (error.walk((e) => typeof (e as { data?: unknown }).data === "string") as { data?: Hex } | null)?.data;
  if (data) {
    try {
      return namedRevert(decodeErrorResult({ abi: pondMarketAbi, data }));
    } catch {
      // Not one of the market's errors: a revert all the same.
    }
  }
  const revertedOther = data !== undefined || error.walk((e) => e instanceof ExecutionRevertedError) !== null;
  return revertedOther ? { reason: error.shortMessage } : undefined;
}

function namedRevert(decoded: { errorName: string; abiItem: object; args?: readonly unknown[] }): Revert {
  const inputs = "inputs" in decoded.abiItem ? (decoded.abiItem.inputs as ReadonlyArray<{ name?: string; type: string }>) : [];
  const at = inputs.findIndex((input) => input.name === "jobId" && input.type === "bytes32");
  const jobId = at >= 0 ? decoded.args?.[at] : undefined;
  return { reason: decoded.errorName, ...(typeof jobId === "string" ? { jobId: jobId.toLowerCase() } : {}) };
}
