// The indexer on real D1, reading a scripted chain: what an event asks for is
// done until it succeeds, once, and never for an event a reorg took away.
import { env } from "cloudflare:test";
import { encodeAbiParameters, encodeEventTopics, keccak256, stringToHex, type Hex } from "viem";
import { beforeEach, describe, expect, it } from "vitest";
import { pondMarketAbi } from "../../../contracts/generated/pondMarket.ts";
import { getConfig } from "../../../worker/config/config.ts";
import { createDb } from "../../../worker/db/client.ts";
import { accounts, chainBlocks, chainCursor, chainEvents, jobs } from "../../../worker/db/schema.ts";
import type { ChainPublicClient } from "../../../worker/chain/clients.ts";
import { indexOnce, type IndexerDeps } from "../../../worker/chain/indexer.ts";
import type { Intent } from "../../../worker/chain/intents.ts";

const db = createDb(env.DB);
const MARKET = "0x00000000000000000000000000000000000000aa" as const;
const CREATOR = "0x00000000000000000000000000000000000000c1" as const;
const PROVIDER = "0x00000000000000000000000000000000000000b2" as const;
const MEDIATOR = "0x00000000000000000000000000000000000000d3" as const;

interface ScriptedLog {
  block: number;
  eventName: "ResultSubmitted" | "ChallengeOpened" | "MediatorAssigned";
  jobId: Hex;
}

/** A chain that is whatever the test says: block hashes by a "fork" label, logs by block. */
function scriptedChain(head: number) {
  const chain = { head, fork: "a", logs: [] as ScriptedLog[], jobStatus: 2 };
  const hashOf = (n: bigint | number) => keccak256(stringToHex(`${chain.fork}:${n}`));
  const encode = (log: ScriptedLog, index: number) => {
    const topics = (() => {
      switch (log.eventName) {
        case "ResultSubmitted":
          return encodeEventTopics({ abi: pondMarketAbi, eventName: "ResultSubmitted", args: { jobId: log.jobId, provider: PROVIDER } });
        case "ChallengeOpened":
          return encodeEventTopics({ abi: pondMarketAbi, eventName: "ChallengeOpened", args: { jobId: log.jobId, creator: CREATOR, provider: PROVIDER } });
        case "MediatorAssigned":
          return encodeEventTopics({ abi: pondMarketAbi, eventName: "MediatorAssigned", args: { jobId: log.jobId, mediator: MEDIATOR } });
      }
    })();
    const data = (() => {
      switch (log.eventName) {
        case "ResultSubmitted":
          return encodeAbiParameters([{ type: "bytes32" }, { type: "uint256" }, { type: "uint64" }], [log.jobId, 10n, 1234n]);
        case "ChallengeOpened":
          return encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }, { type: "uint64" }, { type: "uint64" }], [1n, 1n, 11n, 5000n]);
        case "MediatorAssigned":
          return encodeAbiParameters([{ type: "uint64" }], [5000n]);
      }
    })();
    return {
      address: MARKET,
      topics,
      data,
      blockNumber: BigInt(log.block),
      blockHash: hashOf(log.block),
      transactionHash: keccak256(stringToHex(`${chain.fork}:tx:${log.block}:${index}`)),
      transactionIndex: 0,
      logIndex: index,
      removed: false,
    };
  };
  const client = {
    getBlockNumber: async () => BigInt(chain.head),
    getBlock: async ({ blockNumber }: { blockNumber: bigint }) => ({ number: blockNumber, hash: hashOf(blockNumber), timestamp: 0n }),
    getLogs: async ({ fromBlock, toBlock }: { fromBlock: bigint; toBlock: bigint }) =>
      chain.logs.map(encode).filter((log) => log.blockNumber >= fromBlock && log.blockNumber <= toBlock),
    readContract: async ({ functionName }: { functionName: string }) => {
      if (functionName === "jobOf") return { status: chain.jobStatus, time: 0n, creator: CREATOR, provider: PROVIDER, amount: 10n };
      if (functionName === "accountOf") return [0n, 0n];
      return { registered: true, stake: 1n, lockedStake: 0n, unbonding: 0n, unbondReadyAt: 0n, jobsSettled: 0, jobsChallenged: 0, jobsSlashed: 0, id: 1 };
    },
  };
  return { chain, client: client as unknown as ChainPublicClient };
}

/** Records what the indexer asks for; each hook fails while its flag says so. */
function recorder(client: ChainPublicClient) {
  const seen = { intents: [] as Intent[], mediators: [] as string[], announced: [] as string[] };
  const failing = { intents: false, mediators: false };
  const deps: IndexerDeps = {
    db,
    client,
    config: getConfig(env),
    market: MARKET,
    onSettlement: async (chainJobId, settlement, announce) => {
      if (announce) seen.announced.push(`${chainJobId}:${settlement}`);
    },
    onIntents: async (intents) => {
      if (failing.intents) throw new Error("the relayer is away");
      seen.intents.push(...intents);
    },
    onMediatorAssigned: async (_jobId, _chainJobId, mediator) => {
      if (failing.mediators) throw new Error("the hub is away");
      seen.mediators.push(mediator);
    },
    onReseeded: async () => {},
  };
  return { seen, failing, deps };
}

let jobCount = 0;
async function ourJob(): Promise<{ id: string; chainJobId: Hex }> {
  const id = `job_indexer_${++jobCount}_${crypto.randomUUID()}`;
  const chainJobId = keccak256(stringToHex(id));
  await db.insert(accounts).values({ address: CREATOR, webhookSecretEnc: "x" }).onConflictDoNothing();
  await db.insert(jobs).values({
    id,
    account: CREATOR,
    status: "succeeded",
    spec: { image: "x", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 1, max_price_wei: "5" },
    chainJobId,
    webhookEventsFilter: [],
    createdAt: Date.now(),
  });
  return { id, chainJobId };
}

const unprocessedCount = async () => (await db.select().from(chainEvents)).filter((e) => e.processedAt === null).length;

beforeEach(async () => {
  await db.batch([db.delete(chainEvents), db.delete(chainBlocks), db.delete(chainCursor)]);
});

describe("behavior: follow-up", () => {
  it("asks the relayer to settle a reported job on the next tick when the first ask failed", async () => {
    const job = await ourJob();
    const { chain, client } = scriptedChain(10);
    chain.logs.push({ block: 10, eventName: "ResultSubmitted", jobId: job.chainJobId });
    const { seen, failing, deps } = recorder(client);

    failing.intents = true;
    const first = await indexOnce(deps);
    expect(first).toMatchObject({ to: 10n, events: 1 });
    expect(first.failures).toHaveLength(1);
    expect(seen.intents).toEqual([]);
    expect(await unprocessedCount()).toBe(1);

    failing.intents = false;
    const second = await indexOnce(deps);
    expect(second).toMatchObject({ events: 0, failures: [] });
    expect(seen.intents).toEqual([{ kind: "settle", jobId: job.id, chainJobId: job.chainJobId, payload: {}, notBefore: 1234 }]);
    expect(await unprocessedCount()).toBe(0);

    // Done once: later ticks ask for nothing more.
    await indexOnce(deps);
    expect(seen.intents).toHaveLength(1);
  });

  it("calls the drawn mediator again after a failed call, without asking the relayer twice for the challenge's work", async () => {
    const job = await ourJob();
    const { chain, client } = scriptedChain(20);
    chain.jobStatus = 3; // Challenged
    chain.logs.push({ block: 19, eventName: "ChallengeOpened", jobId: job.chainJobId }, { block: 20, eventName: "MediatorAssigned", jobId: job.chainJobId });
    const { seen, failing, deps } = recorder(client);

    failing.mediators = true;
    const first = await indexOnce(deps);
    expect(first.failures).toEqual([expect.stringContaining("MediatorAssigned")]);
    expect(seen.intents.map((i) => i.kind)).toEqual(["assign", "expire"]);
    expect(seen.announced).toEqual([`${job.chainJobId}:challenged`]);

    failing.mediators = false;
    await indexOnce(deps);
    expect(seen.mediators).toEqual([MEDIATOR]);
    expect(seen.intents.map((i) => i.kind)).toEqual(["assign", "expire"]);
    expect(await unprocessedCount()).toBe(0);
  });

  it("drops the follow-up of an event a reorg took away", async () => {
    const job = await ourJob();
    const { chain, client } = scriptedChain(30);
    chain.logs.push({ block: 30, eventName: "ResultSubmitted", jobId: job.chainJobId });
    const { seen, failing, deps } = recorder(client);

    failing.intents = true;
    await indexOnce(deps);
    expect(await unprocessedCount()).toBe(1);

    // Every block is replaced, and the result is not on the new chain.
    chain.fork = "b";
    chain.logs = [];
    failing.intents = false;
    const after = await indexOnce(deps);
    expect(after.rewoundTo).toBeDefined();
    expect(seen.intents).toEqual([]);
    expect(await db.select().from(chainEvents)).toEqual([]);
  });
});
