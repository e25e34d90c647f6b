// The chain misbehaving for real on anvil: a reorg under the indexer, a
// relayer killed with its settlement stuck in the mempool, restarted, and its
// transaction replaced with higher fees — every job settled exactly once — and
// a reservation mined under a hash the relayer never saw.
import { afterEach, describe, expect, it } from "vitest";
import { decodeFunctionData, parseEther, type Hex } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import type { Job } from "../../protocol/job.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";

let stack: ChainStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("the indexer", () => {
  it("rewinds a reorg: a deposit that vanished from the chain vanishes from D1", async () => {
    stack = await startChainStack();
    const { client, wallet } = await stack.creator("reorged", "2");
    await eventually(async () => (await client.account()).escrow.balance_wei === parseEther("2").toString(), { what: "the deposit to be indexed" });
    const { anvil, market } = stack;
    const [deposit] = await anvil.publicClient.getContractEvents({ address: market, abi: pondMarketAbi, eventName: "Deposited", args: { account: wallet.address }, fromBlock: 0n });
    const head = await anvil.publicClient.getBlockNumber();
    const depth = Number(head - deposit!.blockNumber + 1n);

    // Replace the last `depth` blocks with empty ones: the deposit never happened on the new chain.
    await anvil.testClient.request({ method: "anvil_reorg", params: [depth, []] } as never);
    const onChain = await anvil.publicClient.readContract({ address: market, abi: pondMarketAbi, functionName: "accountOf", args: [wallet.address] });
    expect(onChain[0]).toBe(0n);

    const escrow = await eventually(async () => {
      const current = (await client.account()).escrow;
      return current.balance_wei === "0" && current;
    }, { what: "the indexer to rewind", timeoutMs: 30_000 });
    expect(escrow).toMatchObject({ balance_wei: "0", available_wei: "0" });

    // And it keeps following the new chain.
    await anvil.walletFor(wallet).writeContract({ address: market, abi: pondMarketAbi, functionName: "deposit", value: parseEther("0.5") });
    await eventually(async () => (await client.account()).escrow.balance_wei === parseEther("0.5").toString(), { what: "the new deposit" });
  });
});

/** Hashes of pending market calls to `functionName`, as the next block would mine them. */
async function pendingCalls(functionName: string): Promise<Hex[]> {
  const { anvil, market } = stack!;
  const block = await anvil.publicClient.getBlock({ blockTag: "pending", includeTransactions: true });
  return block.transactions
    .filter((tx) => tx.to?.toLowerCase() === market.toLowerCase() && decodeFunctionData({ abi: pondMarketAbi, data: tx.input }).functionName === functionName)
    .map((tx) => tx.hash as Hex);
}

describe("the relayer", () => {
  it("recognises its own reservation mined under a hash it never saw, and goes on to post the result", async () => {
    stack = await startChainStack({ vars: { RELAYER_REPLACE_AFTER_MS: "1500" } });
    const { anvil, market, relayer } = stack;
    await stack.provider(["--max-cpus", "2", "--max-memory-mb", "2048", "--cpu-second-wei", "1000000000"]);
    const { client, wallet } = await stack.creator("twice", "1");
    await eventually(async () => (await client.account()).escrow.balance_wei === parseEther("1").toString(), { what: "the deposit to be indexed" });

    // Mining stops; the relayer sends the reservation, which waits in the mempool.
    await anvil.testClient.setAutomine(false);
    const created = await client.createPaidJob(shellJob("echo once > /outputs/out.txt", { max_price_wei: parseEther("0.01").toString() }), wallet);
    const [sent] = await eventually(async () => {
      const txs = await pendingCalls("reserveJobs");
      return txs.length > 0 && txs;
    }, { what: "a reservation in the mempool" });
    const original = await anvil.publicClient.getTransaction({ hash: sent! });

    // The same reservation, same nonce, wins under another hash (as a replacement the relayer never
    // recorded would): its own hashes never get a receipt, and it sends the work again.
    const winner = await anvil.walletFor(relayer).sendTransaction({
      to: market,
      data: original.input,
      nonce: original.nonce,
      gas: original.gas,
      maxFeePerGas: original.maxFeePerGas! * 10n,
      maxPriorityFeePerGas: original.maxPriorityFeePerGas! * 10n,
    });
    await anvil.testClient.mine({ blocks: 1 });
    await anvil.testClient.setAutomine(true);
    expect((await anvil.publicClient.getTransactionReceipt({ hash: winner })).status).toBe("success");

    expect((await client.waitForJob(created.id)).status).toBe("succeeded");
    const job = await client.getJob(created.id);
    await eventually(async () => {
      const reported = await anvil.publicClient.getContractEvents({ address: market, abi: pondMarketAbi, eventName: "ResultSubmitted", args: { jobId: job.chain_job_id as Hex }, fromBlock: 0n });
      return reported.length > 0;
    }, { what: "the result on chain", timeoutMs: 30_000 });
    const reported = await eventually(async () => {
      const current = await client.getJob(created.id);
      return current.settlement === "pending" && current;
    }, { what: "the indexer to see the result" });
    expect(reported.status).toBe("succeeded");
    const reservations = await anvil.publicClient.getContractEvents({ address: market, abi: pondMarketAbi, eventName: "JobReserved", args: { jobId: job.chain_job_id as Hex }, fromBlock: 0n });
    expect(reservations).toHaveLength(1);
  });

  it("survives a crash with its settlement stuck in the mempool, replaces it with higher fees, and settles every job once", async () => {
    stack = await startChainStack({ vars: { RELAYER_REPLACE_AFTER_MS: "1500", RELAYER_BATCH_SIZE: "10" } });
    const { anvil, market } = stack;
    await stack.provider(["--max-cpus", "2", "--max-memory-mb", "2048", "--cpu-second-wei", "1000000000"]);
    const { client, wallet } = await stack.creator("batcher", "1");
    const created: Job[] = [];
    for (let i = 0; i < 4; i++) created.push(await client.createPaidJob(shellJob(`echo job ${i} > /outputs/out.txt`, { max_price_wei: parseEther("0.01").toString() }), wallet));
    for (const job of created) expect((await client.waitForJob(job.id)).status).toBe("succeeded");
    // Every result on chain before time moves: a result posted after that would open its challenge window
    // only then ("pending" alone does not tell, a job merely reserved reads pending too).
    const chainIds = new Set(created.map((j) => j.chain_job_id));
    await eventually(async () => {
      const reported = await anvil.publicClient.getContractEvents({ address: market, abi: pondMarketAbi, eventName: "ResultSubmitted", fromBlock: 0n });
      return reported.filter((log) => chainIds.has(log.args.jobId!)).length === created.length;
    }, { what: "all results on chain", timeoutMs: 30_000 });
    await eventually(async () => (await Promise.all(created.map((j) => client.getJob(j.id)))).every((j) => j.settlement === "pending"), { what: "the indexer to see them" });

    // Mining stops; the challenge window passes; the relayer sends its settlement, which sticks.
    await anvil.testClient.setAutomine(false);
    await anvil.increaseTime(61);
    const pendingSettle = () => pendingCalls("settleJobs");
    const stuck = await eventually(async () => {
      const txs = await pendingSettle();
      return txs.length > 0 && txs;
    }, { what: "a settlement in the mempool" });
    const original = await anvil.publicClient.getTransaction({ hash: stuck[0]! });

    // The relayer dies with it there, and comes back.
    await stack.dev.kill();
    stack.dev = await stack.dev.restart();
    await client.account(); // any request wakes the indexer, which wakes the relayer

    // Still not mined: the restarted relayer replaces it with higher fees, same nonce.
    const replacement = await eventually(async () => {
      const txs = await pendingSettle();
      const fresh = txs.find((hash) => !stuck.includes(hash));
      return fresh && (await anvil.publicClient.getTransaction({ hash: fresh }));
    }, { what: "a replacement transaction", timeoutMs: 30_000 });
    expect(replacement.nonce).toBe(original.nonce);
    expect(replacement.maxFeePerGas! > original.maxFeePerGas!).toBe(true);

    await anvil.testClient.setAutomine(true);
    await anvil.testClient.mine({ blocks: 1 });
    const settled = await eventually(async () => {
      const jobs = await Promise.all(created.map((j) => client.getJob(j.id)));
      return jobs.every((j) => j.settlement === "settled") && jobs;
    }, { what: "every job settled", timeoutMs: 60_000 });
    expect(settled).toHaveLength(4);

    const payments = await anvil.publicClient.getContractEvents({ address: market, abi: pondMarketAbi, eventName: "JobSettled", fromBlock: 0n });
    const perJob = new Map<string, number>();
    for (const payment of payments) perJob.set(payment.args.jobId!, (perJob.get(payment.args.jobId!) ?? 0) + 1);
    expect([...perJob.values()]).toEqual([1, 1, 1, 1]);
  });
});
