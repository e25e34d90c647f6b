// anvil restarted under the relayer and the indexer, once in each of the
// relayer's batches (reservations, results, settlements), each time with the
// batch sent and waiting in the mempool. anvil keeps its chain in a --state file,
// so blocks survive and the mempool does not, as on a node that crashed: the
// relayer must notice its transaction is gone and send it again. Every job
// settles exactly once, counted in the contract's own events. The Worker reaches
// anvil through a TCP proxy that is cut while anvil restarts, so what the test sees
// pending right after the restart is what the node kept, not a transaction the
// relayer sent again in the meantime.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { decodeFunctionData, parseEther, type Hex } from "viem";
import { pondMarketAbi } from "../../../contracts/generated/pondMarket.ts";
import type { Job } from "../../../protocol/job.ts";
import { startChainStack, type ChainStack } from "../../helpers/chainStack.ts";
import { eventually } from "../../helpers/eventually.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcpProxy.ts";

const JOBS = 4;
let stack: ChainStack;
let stateDir: string;
let proxy: TcpProxy;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "pond-anvil-state-"));
  let anvilPort = 0;
  // Started before anvil, so the Worker's RPC_URL can name it; it reaches anvil once anvil is up.
  proxy = await startTcpProxy(() => anvilPort);
  stack = await startChainStack({
    anvil: { statePath: join(stateDir, "state.json") },
    vars: { RPC_URL: proxy.url, RELAYER_REPLACE_AFTER_MS: "1500", RELAYER_BATCH_SIZE: "10" },
  });
  anvilPort = stack.anvil.port;
  await stack.provider(["--max-cpus", "4", "--max-memory-mb", "2048", "--cpu-second-wei", "1000000000"]);
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await rm(stateDir, { recursive: true, force: true });
});

type MarketCall = "reserveJobs" | "submitResults" | "settleJobs";

/** Market calls to `functionName` waiting in the mempool, as the next block would mine them. */
async function pendingCalls(functionName: MarketCall): Promise<Hex[]> {
  const { anvil, market } = stack;
  const block = await anvil.publicClient.getBlock({ blockTag: "pending", includeTransactions: true });
  return block.transactions
    .filter((tx) => tx.to?.toLowerCase() === market.toLowerCase() && decodeFunctionData({ abi: pondMarketAbi, data: tx.input }).functionName === functionName)
    .map((tx) => tx.hash as Hex);
}

/**
 * Stops mining, waits until the relayer has sent `functionName`, and restarts anvil with it unmined.
 * The Worker is cut off from anvil meanwhile: otherwise its next tick could send the batch again between
 * the restart and the look at the mempool, and the look would see that, not what the restart left.
 */
async function restartWithPending(functionName: MarketCall): Promise<void> {
  const { anvil } = stack;
  await eventually(async () => (await pendingCalls(functionName)).length > 0, { what: `${functionName} in the mempool`, timeoutMs: 60_000 });
  proxy.pause();
  try {
    await anvil.restart();
    // Restarted with its own flags: automine again, and nothing pending.
    expect(await pendingCalls(functionName)).toEqual([]);
  } finally {
    proxy.resume();
  }
}

/** How many times the market emitted `eventName` for each of our jobs. */
async function eventsPerJob(eventName: "JobReserved" | "ResultSubmitted" | "JobSettled", chainJobIds: string[]): Promise<number[]> {
  const logs = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName, fromBlock: 0n });
  return chainJobIds.map((id) => logs.filter((log) => (log.args as { jobId?: string }).jobId === id).length);
}

describe("anvil restarted mid-batch", () => {
  it("settles every job exactly once through restarts in its reservation, result and settlement batches", async () => {
    const { anvil } = stack;
    onTestFailed(() => console.log(`wrangler dev said:\n${stack.dev.process.output().slice(-8000)}`));
    const { client, wallet } = await stack.creator("restarts", "1");
    await eventually(async () => (await client.account()).escrow.balance_wei === parseEther("1").toString(), { what: "the deposit to be indexed" });

    // Reservations: sent while nothing mines, lost with the mempool.
    await anvil.testClient.setAutomine(false);
    const created: Job[] = [];
    for (let i = 0; i < JOBS; i++) {
      created.push(await client.createPaidJob(shellJob(`sleep 2; echo job ${i} > /outputs/out.txt`, { max_price_wei: parseEther("0.01").toString() }), wallet));
    }
    const chainIds = created.map((j) => j.chain_job_id!);
    await restartWithPending("reserveJobs");
    await eventually(async () => (await eventsPerJob("JobReserved", chainIds)).every((n) => n === 1), { what: "every reservation on chain", timeoutMs: 60_000 });

    // Results: the jobs run (they were offered once reserved); their results are sent while nothing mines.
    await anvil.testClient.setAutomine(false);
    for (const job of created) expect((await client.waitForJob(job.id, { timeoutMs: 90_000 })).status).toBe("succeeded");
    await restartWithPending("submitResults");
    await eventually(async () => (await eventsPerJob("ResultSubmitted", chainIds)).every((n) => n === 1), { what: "every result on chain", timeoutMs: 60_000 });
    await eventually(async () => (await Promise.all(created.map((j) => client.getJob(j.id)))).every((j) => j.settlement === "pending"), {
      what: "the indexer to see every result",
      timeoutMs: 60_000,
    });

    // Settlements: the challenge window (60 s) passes, the batch is sent while nothing mines.
    await anvil.testClient.setAutomine(false);
    await anvil.increaseTime(61);
    await restartWithPending("settleJobs");
    const settled = await eventually(async () => {
      const jobs = await Promise.all(created.map((j) => client.getJob(j.id)));
      return jobs.every((j) => j.settlement === "settled") && jobs;
    }, { what: "every job settled", timeoutMs: 90_000 });

    expect(await eventsPerJob("JobReserved", chainIds)).toEqual([1, 1, 1, 1]);
    expect(await eventsPerJob("ResultSubmitted", chainIds)).toEqual([1, 1, 1, 1]);
    expect(await eventsPerJob("JobSettled", chainIds)).toEqual([1, 1, 1, 1]);
    // And D1 agrees with the chain: what was paid left the escrow, nothing is still reserved.
    const payments = await anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "JobSettled", fromBlock: 0n });
    const paid = payments.filter((p) => chainIds.includes(p.args.jobId!)).reduce((sum, p) => sum + p.args.amount!, 0n);
    for (const job of settled) expect(BigInt(job.price.claimed_wei ?? "0")).toBeGreaterThan(0n);
    const escrow = await eventually(async () => {
      const current = (await client.account()).escrow;
      return current.reserved_wei === "0" && current;
    }, { what: "the reservations released in D1" });
    expect(BigInt(escrow.balance_wei)).toBe(parseEther("1") - paid);
  });
});
