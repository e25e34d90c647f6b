// Money on a real EVM: creators deposit into PondMarket on anvil, jobs run on a
// real provider, the relayer in the Worker reserves, reports and settles, and
// the indexer reads it all back into D1 and fires the webhooks.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEther } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { PondApiError } from "../../sdk/index.ts";
import { startChainStack, type ChainStack } from "../helpers/chainStack.ts";
import { eventually } from "../helpers/eventually.ts";
import { shellJob } from "../helpers/jobs.ts";
import type { ProviderProcess } from "../helpers/providerProcess.ts";
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../helpers/webhookReceiver.ts";

let stack: ChainStack;
let provider: ProviderProcess;
let receiver: WebhookReceiver;
const price = parseEther("0.01").toString();

beforeAll(async () => {
  [stack, receiver] = await Promise.all([startChainStack(), startWebhookReceiver()]);
  provider = await stack.provider(["--max-cpus", "2", "--max-memory-mb", "2048", "--cpu-second-wei", "1000000000"]);
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

describe("escrow", () => {
  it("shows a deposit as balance once indexed", async () => {
    const { client } = await stack.creator("depositor", "1.5");
    const account = await eventually(async () => {
      const current = await client.account();
      return current.escrow.balance_wei !== "0" && current;
    }, { what: "the deposit to be indexed" });
    expect(account.escrow).toEqual({ balance_wei: parseEther("1.5").toString(), reserved_wei: "0", reserving_wei: "0", available_wei: parseEther("1.5").toString() });
  });

  it("refuses a job the escrow cannot cover (402), and one with no authorization (422)", async () => {
    const { wallet, client } = await stack.creator("pauper", "0.001");
    const refused = await client.createPaidJob(shellJob("true", { max_price_wei: price }), wallet).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PondApiError);
    expect((refused as PondApiError).status).toBe(402);
    expect((refused as PondApiError).message).toMatch(/deposit at least/);
    const unsigned = await client.createJob(shellJob("true", { max_price_wei: "1" })).catch((e: unknown) => e);
    expect((unsigned as PondApiError).status).toBe(422);
  });
});

describe("a job paid through the market", () => {
  it("is reserved, reported and settled on chain, and its settlement webhook fires", async () => {
    const { wallet, client } = await stack.creator("payer", "1");
    const { secret } = (await client.request("GET", "/v1/webhooks/default/secret")) as { secret: string };
    await fetch(`${receiver.url}/inbox/settle`, { method: "PUT", body: JSON.stringify({ secret }) });
    const created = await client.createPaidJob({ ...shellJob("echo paid > /outputs/paid.txt", { max_price_wei: price }), webhook: `${receiver.url}/hooks/settle`, webhook_events_filter: ["job.settled"] }, wallet);
    expect(created.settlement).toBe("reserving");
    const done = await client.waitForJob(created.id);
    expect(done.status).toBe("succeeded");

    const chainJobId = await eventually(async () => {
      const reported = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "ResultSubmitted", fromBlock: 0n });
      return reported.find((log) => log.args.provider?.toLowerCase() === provider.address)?.args.jobId;
    }, { what: "the result on chain" });
    await eventually(async () => (await client.getJob(created.id)).settlement === "pending", { what: "the indexer to see the reservation and result" });

    // The challenge window (60 s here) passes; the relayer settles.
    await stack.anvil.increaseTime(61);
    const settled = await eventually(async () => {
      const job = await client.getJob(created.id);
      return job.settlement === "settled" && job;
    }, { what: "settlement", timeoutMs: 30_000 });
    expect(settled.status).toBe("succeeded");
    const onChain = await stack.anvil.publicClient.readContract({ address: stack.market, abi: pondMarketAbi, functionName: "jobOf", args: [chainJobId!] });
    expect(onChain.status).toBe(4); // Settled
    const [payment] = await stack.anvil.publicClient.getContractEvents({ address: stack.market, abi: pondMarketAbi, eventName: "JobSettled", args: { jobId: chainJobId! }, fromBlock: 0n });
    expect(payment!.args.provider!.toLowerCase()).toBe(provider.address);
    expect(payment!.args.amount).toBe(BigInt(settled.price.claimed_wei ?? "0"));

    const [webhook] = await eventually(async () => {
      const list = (await (await fetch(`${receiver.url}/inbox/settle`)).json()) as ReceivedWebhook[];
      return list.length > 0 && list;
    });
    expect(webhook!.verified).toBe(true);
    expect(JSON.parse(webhook!.body)).toMatchObject({ type: "job.settled", data: { id: created.id, settlement: "settled" } });

    const escrow = (await client.account()).escrow;
    expect(BigInt(escrow.balance_wei)).toBe(parseEther("1") - payment!.args.amount!);
    expect(escrow.reserved_wei).toBe("0");
  });

  it("releases the reservation of a job that fails", async () => {
    const { wallet, client } = await stack.creator("unlucky", "1");
    const done = await client.waitForJob((await client.createPaidJob(shellJob("exit 3", { max_price_wei: price }), wallet)).id);
    expect(done.status).toBe("failed");
    const refunded = await eventually(async () => {
      const job = await client.getJob(done.id);
      return job.settlement === "refunded" && job;
    }, { what: "the release", timeoutMs: 30_000 });
    expect(refunded.settlement).toBe("refunded");
    const escrow = await eventually(async () => {
      const current = (await client.account()).escrow;
      return current.reserved_wei === "0" && current;
    });
    expect(escrow.balance_wei).toBe(parseEther("1").toString());
  });
});
