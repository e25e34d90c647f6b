// Escrow reservations on a real chain (anvil, wrangler dev, a provider on
// Docker): one creator cannot spend the same escrow twice, nor stall the
// relayer for everyone else. The Worker reaches anvil through a TCP proxy, so
// a test can take the chain away from it for a while.
import { parseEther, type Hex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sendMarketTx } from "../../cli/marketTx.ts";
import { PondApiError, PondClient } from "../../sdk/index.ts";
import type { TypedDataSigner } from "../../sdk/authorization.ts";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import type { Job } from "../../protocol/job.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import { malleableTwin } from "../helpers/signatures.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcpProxy.ts";

const price = parseEther("0.01").toString();
let stack: ChainStack;
let proxy: TcpProxy;

beforeAll(async () => {
  let anvilPort = 0;
  // Started before anvil, so the Worker's RPC_URL can name it; it reaches anvil once anvil is up.
  proxy = await startTcpProxy(() => anvilPort);
  stack = await startChainStack({ vars: { RPC_URL: proxy.url } });
  anvilPort = stack.anvil.port;
  await stack.provider(["--max-cpus", "2", "--max-memory-mb", "2048", "--cpu-second-wei", "1000000000"]);
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
});

async function creator(label: string, depositEth: string) {
  const made = await stack.creator(label, depositEth);
  await eventually(async () => (await made.client.account()).escrow.balance_wei === parseEther(depositEth).toString(), { what: `${label}'s deposit to be indexed`, timeoutMs: 30_000 });
  return made;
}

const reservationsOf = (job: Job) =>
  stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "JobReserved", args: { jobId: job.chain_job_id as Hex }, fromBlock: 0n });

/**
 * A fetch that holds job creates until `count` of them are signed and waiting, then sends them all at
 * once: the server sees them together, as a script firing them in parallel would, not spaced out by
 * the client's signing.
 */
function togetherFetch(count: number): typeof fetch {
  const waiting: Array<() => void> = [];
  return async (input, init) => {
    if (init?.method === "POST" && String(input).endsWith("/v1/jobs")) {
      await new Promise<void>((go) => {
        waiting.push(go);
        if (waiting.length === count) for (const release of waiting) release();
      });
    }
    return fetch(input, init);
  };
}

const reservedOnChain = (job: Job, what: string) => eventually(async () => (await reservationsOf(job)).length > 0, { what, timeoutMs: 60_000 });

describe("paid job admission", () => {
  it("admits one of 10 concurrent 0.01 ETH creates sent right after a 0.01 ETH deposit; another creator's job is still reserved and runs", async () => {
    const poor = await stack.creator("ten-at-once");
    const other = await creator("bystander", "1");

    // The deposit lands while the Worker cannot see the chain, so the creates find it not yet indexed and read the
    // chain themselves, as a script that deposits and then fires at once would have them do; over a slow link to
    // the chain, so they all get there before that read is done.
    proxy.pause();
    await sendMarketTx(stack.anvil.rpcUrl, poor.wallet, await poor.client.chain(), { functionName: "deposit", value: parseEther("0.01") });
    proxy.delay(300);
    proxy.resume();
    const racing = new PondClient({ baseUrl: stack.dev.url, apiKey: poor.client.apiKey!, fetch: togetherFetch(10) });
    const answers = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => racing.createPaidJob(shellJob(`echo ${i} > /outputs/out.txt`, { max_price_wei: price }), poor.wallet)));
    proxy.delay(0);
    const admitted = answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
    const refused = answers.flatMap((a) => (a.status === "rejected" ? [a.reason as unknown] : []));
    expect(admitted).toHaveLength(1);
    expect(refused).toHaveLength(9);
    for (const error of refused) {
      expect(error).toBeInstanceOf(PondApiError);
      expect((error as PondApiError).status).toBe(402);
    }
    // One job written, one reservation on chain: never more than the escrow covers.
    const listed = (await poor.client.request("GET", "/v1/jobs")) as { results: Job[] };
    expect(listed.results.map((j) => j.id)).toEqual([admitted[0]!.id]);

    const job = await other.client.createPaidJob(shellJob("echo bystander > /outputs/out.txt", { max_price_wei: price }), other.wallet);
    await reservedOnChain(job, "the other creator's reservation on chain");
    expect((await other.client.waitForJob(job.id)).status).toBe("succeeded");
    expect((await poor.client.waitForJob(admitted[0]!.id)).status).toBe("succeeded");
    const reservedForPoor = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "JobReserved", args: { creator: poor.wallet.address }, fromBlock: 0n });
    expect(reservedForPoor.map((e) => e.args.jobId)).toEqual([admitted[0]!.chain_job_id]);
  });
});

describe("the relayer", () => {
  it("sends the other reservations of a batch that fails only as a whole, and gives up only on the job the escrow cannot cover", async () => {
    const withdrawer = await creator("withdrawer", "0.02");
    const other = await creator("bystander-2", "1");

    // The chain goes away from the Worker: reservations pile up for one batch.
    proxy.pause();
    const first = await withdrawer.client.createPaidJob(shellJob("echo first > /outputs/out.txt", { max_price_wei: price }), withdrawer.wallet);
    const second = await withdrawer.client.createPaidJob(shellJob("echo second > /outputs/out.txt", { max_price_wei: price }), withdrawer.wallet);
    const bystander = await other.client.createPaidJob(shellJob("echo bystander > /outputs/out.txt", { max_price_wei: price }), other.wallet);
    // Meanwhile the creator takes half the escrow back, straight on chain: each reservation still fits alone, not both.
    await sendMarketTx(stack.anvil.rpcUrl, withdrawer.wallet, await withdrawer.client.chain(), { functionName: "withdraw", amount: parseEther("0.01") });
    proxy.resume();

    await reservedOnChain(bystander, "the bystander's reservation on chain");
    expect((await other.client.waitForJob(bystander.id)).status).toBe("succeeded");

    // The creator's first job fits and runs; the second is given up, not retried for ever.
    await reservedOnChain(first, "the first reservation on chain");
    expect((await withdrawer.client.waitForJob(first.id)).status).toBe("succeeded");
    const unfunded = await withdrawer.client.waitForJob(second.id, { timeoutMs: 60_000, until: (job) => job.settlement === "unfunded" });
    expect(unfunded.status).toBe("failed");
    expect(unfunded.error).toMatch(/InsufficientEscrow/);
    expect(await reservationsOf(second)).toHaveLength(0);
  });
});

describe("signatures as other signers make them", () => {
  it("reserves and runs a job whose authorization carries the high-s twin of the creator's signature, and every other creator's job beside it", async () => {
    const careless = await creator("high-s-signer", "1");
    const other = await creator("bystander-3", "1");
    // A signer that leaves its signatures in the high-s form (some hardware and cloud signers do).
    const highS: TypedDataSigner = { signTypedData: (async (typed: never) => malleableTwin(await careless.wallet.signTypedData(typed))) as TypedDataSigner["signTypedData"] };
    const job = await careless.client.createPaidJob(shellJob("echo high-s > /outputs/out.txt", { max_price_wei: price }), highS);
    const bystander = await other.client.createPaidJob(shellJob("echo bystander > /outputs/out.txt", { max_price_wei: price }), other.wallet);

    await reservedOnChain(bystander, "the bystander's reservation on chain");
    await reservedOnChain(job, "the high-s job's reservation on chain");
    expect((await other.client.waitForJob(bystander.id)).status).toBe("succeeded");
    expect((await careless.client.waitForJob(job.id)).status).toBe("succeeded");
  });
});
