// The Worker's relayer (worker/chain/relaying.ts) against the real market on anvil:
// one intent that can never go on chain fails alone, with its reason, and the rest of
// its batch is reserved; a tolerant job's verdict (judge) goes on chain, and one the
// contract refuses fails alone with the contract's reason. Here rather than in test/worker/ because workerd tests cannot
// reach anvil; the relayer's queue runs on Node's SQLite, the engine a Durable
// Object's storage runs (test/helpers/nodeSqlStorage.ts).
import { createPublicClient, createWalletClient, http, keccak256, parseEther, stringToHex, type Hex, type LocalAccount } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { jobAuthorizationTypes } from "../../protocol/eip712.ts";
import type { Intent } from "../../worker/chain/intents.ts";
import { RelayerStore, type StoredIntent } from "../../worker/chain/relayerStore.ts";
import { relayOnce, type Relaying } from "../../worker/chain/relaying.ts";
import { getConfig } from "../../worker/config/config.ts";
import { chainOf } from "../../worker/config/chains.ts";
import { localMarketParams, startAnvil, type Anvil } from "../helpers/anvil.ts";
import { nodeSqlStorage } from "../helpers/nodeSqlStorage.ts";
import { malleableTwin } from "../helpers/signatures.ts";
import { ChallengeOutcome, createMarketFixture, DEFAULT_MAX_PRICE, hashOf, JobStatus, jobIdOf, mined, signVerdict, snapshotIsolation, type MarketFixture } from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);

beforeAll(async () => {
  anvil = await startAnvil();
  // Three providers: one runs the challenged jobs, the others can be drawn to mediate them.
  f = await createMarketFixture(anvil, { creators: 3, providers: 3, deposit: parseEther("1") });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

/** A relayer as the ChainRelayer object runs it (its key: testAccount("relayer"), the fixture's), over a fresh queue; what it gives up on is collected. */
function relayer() {
  const config = getConfig({
    ENVIRONMENT: "development",
    CHAIN: "anvil",
    RPC_URL: anvil.rpcUrl,
    MARKET_ADDRESS: f.address,
    RELAYER_PRIVATE_KEY: keccak256(stringToHex("pond-test-account:relayer")),
  });
  const store = new RelayerStore(nodeSqlStorage());
  const given: Array<{ intent: StoredIntent; reason?: string }> = [];
  const relaying: Relaying = {
    store,
    config,
    client: createPublicClient({ chain: chainOf(config), transport: http(anvil.rpcUrl) }),
    wallet: createWalletClient({ chain: chainOf(config), transport: http(anvil.rpcUrl), account: f.relayer }) as Relaying["wallet"],
    giveUp: async (intents, reason) => {
      given.push(...intents.map((intent) => ({ intent, ...(reason ? { reason } : {}) })));
    },
  };
  return { store, relaying, given };
}

let jobs = 0;
/**
 * A reserve intent for `creator`, signed by `signer` (the creator unless said otherwise); `tolerant` is the flag the
 * intent carries, `signedTolerant` the one the creator signed (the same unless said otherwise).
 */
async function reserveIntent(
  creator: LocalAccount,
  options: { signer?: LocalAccount; deadline?: bigint; tamper?: (signature: Hex) => Hex; tolerant?: boolean; signedTolerant?: boolean } = {},
): Promise<Intent> {
  const label = `relayer-${++jobs}`;
  const chainJobId = jobIdOf(label);
  const deadline = options.deadline ?? (await f.now()) + 86_400n;
  const specHash = hashOf(`spec:${label}`);
  const signature = await (options.signer ?? creator).signTypedData({
    domain: f.domain,
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    message: { jobId: chainJobId, specHash, maxPrice: DEFAULT_MAX_PRICE, deadline, tolerant: options.signedTolerant ?? options.tolerant ?? false },
  });
  return {
    kind: "reserve",
    jobId: `job_${label.replace("-", "")}`,
    chainJobId,
    payload: {
      creator: creator.address,
      specHash,
      maxPriceWei: DEFAULT_MAX_PRICE.toString(),
      deadline: Number(deadline),
      tolerant: options.tolerant ?? false,
      signature: options.tamper ? options.tamper(signature) : signature,
    },
  };
}

const statusOf = async (intent: Intent) => (await f.as(f.relayer).read.jobOf([intent.chainJobId])).status;

/** Ticks until nothing is pending or sent (each tick mines on automining anvil). */
async function drain(relaying: Relaying, store: RelayerStore): Promise<void> {
  for (let tick = 0; tick < 6 && store.hasWork(); tick++) await relayOnce(relaying);
  expect(store.hasWork()).toBe(false);
}

describe("behavior: one bad intent among honest ones", () => {
  it("reserves a creator's job whose signature is the high-s twin of a valid one (it is made canonical)", async () => {
    const { store, relaying, given } = relayer();
    const malleable = await reserveIntent(f.creators[0]!, { tamper: malleableTwin });
    const honest = await reserveIntent(f.creators[1]!);
    store.add([malleable, honest], Date.now());
    await drain(relaying, store);
    expect(given).toEqual([]);
    expect(await statusOf(malleable)).toBe(JobStatus.Reserved);
    expect(await statusOf(honest)).toBe(JobStatus.Reserved);
  });

  it("fails alone, with its reason, an intent whose signature cannot be encoded, and reserves the rest of its batch", async () => {
    const { store, relaying, given } = relayer();
    // v = 0x25: no signer makes this, and no compact form exists for it.
    const unencodable = await reserveIntent(f.creators[0]!, { tamper: (signature) => `${signature.slice(0, 130)}25` as Hex });
    const honest = [await reserveIntent(f.creators[1]!), await reserveIntent(f.creators[2]!)];
    store.add([unencodable, ...honest], Date.now());
    await drain(relaying, store);
    expect(given.map((g) => g.intent.intent.jobId)).toEqual([unencodable.jobId]);
    expect(given[0]!.reason).toMatch(/cannot be encoded for the contract: the signature is not usable: its v is 37/);
    for (const intent of honest) expect(await statusOf(intent)).toBe(JobStatus.Reserved);
    expect(await statusOf(unencodable)).toBe(JobStatus.None);
  });

  it("fails alone a reservation signed by someone other than its creator, and one whose authorization ran out", async () => {
    const { store, relaying, given } = relayer();
    const forged = await reserveIntent(f.creators[0]!, { signer: f.creators[1]! });
    const expired = await reserveIntent(f.creators[1]!, { deadline: (await f.now()) - 1n });
    const honest = await reserveIntent(f.creators[2]!);
    store.add([forged, expired, honest], Date.now());
    await drain(relaying, store);
    expect(given.map((g) => g.intent.intent.jobId).sort()).toEqual([forged.jobId, expired.jobId].sort());
    expect(given.find((g) => g.intent.intent.jobId === expired.jobId)!.reason).toMatch(/deadline .* passed before the reservation reached the chain/);
    expect(await statusOf(honest)).toBe(JobStatus.Reserved);
  });
});

describe("behavior: a tolerant job's flag and verdict", () => {
  it("reserves a tolerant job as its creator signed it, and fails alone one whose flag was set without the creator's signature", async () => {
    const { store, relaying, given } = relayer();
    const tolerant = await reserveIntent(f.creators[0]!, { tolerant: true });
    const flipped = await reserveIntent(f.creators[1]!, { tolerant: true, signedTolerant: false });
    store.add([tolerant, flipped], Date.now());
    await drain(relaying, store);
    expect(given.map((g) => [g.intent.intent.jobId, g.reason])).toEqual([[flipped.jobId, "InvalidCreatorSignature"]]);
    expect(await f.as(f.relayer).read.jobOf([tolerant.chainJobId])).toMatchObject({ status: JobStatus.Reserved, tolerant: true });
  });

  /** A job reserved (tolerant or not), reported by the first provider, challenged, and its mediator drawn by the relayer's assign intent. */
  async function challengedWithMediator(label: string, tolerant: boolean, relaying: Relaying, store: RelayerStore) {
    const jobId = jobIdOf(label);
    const creator = f.creators[0]!;
    await f.reserve(creator, [{ jobId, tolerant }]);
    const [result] = await f.report(f.providers[0]!, [{ jobId, resultHash: hashOf(`out:${label}`), amount: DEFAULT_MAX_PRICE }]);
    await mined(anvil, f.as(creator).write.challenge([jobId, result!.resultHash, result!.providerSignature], { value: localMarketParams.challengeBond }));
    // Two blocks: the relayer simulates at the latest block, which must already be past the seed block.
    await anvil.testClient.mine({ blocks: 2 });
    store.add([{ kind: "assign", jobId: `job_${label}`, chainJobId: jobId, payload: {} }], Date.now());
    await drain(relaying, store);
    const { mediator } = await f.as(f.relayer).read.challengeOf([jobId]);
    return { jobId, resultHash: result!.resultHash, mediator: f.providers.find((p) => p.address === mediator)! };
  }

  const judge = (label: string, chainJobId: Hex, rerunHash: Hex, upheld: boolean, signature: Hex): Intent => ({
    kind: "judge",
    jobId: `job_${label}`,
    chainJobId,
    payload: { rerunHash, upheld, signature },
  });

  it("puts the drawn mediator's verdict on chain with judgeChallenge", async () => {
    const { store, relaying, given } = relayer();
    const job = await challengedWithMediator("judged", true, relaying, store);
    const rerunHash = hashOf("a re-run within tolerance");
    const signature = await signVerdict(job.mediator, f.domain, { jobId: job.jobId, resultHash: job.resultHash, rerunHash, upheld: true });
    store.add([judge("judged", job.jobId, rerunHash, true, signature)], Date.now());
    await drain(relaying, store);
    expect(given).toEqual([]);
    expect((await f.as(f.relayer).read.jobOf([job.jobId])).status).toBe(JobStatus.Settled);
    const resolved = await anvil.publicClient.getContractEvents({ address: f.address, abi: pondMarketAbi, eventName: "ChallengeResolved", args: { jobId: job.jobId }, fromBlock: 0n });
    expect(resolved.map((e) => e.args)).toEqual([
      { jobId: job.jobId, provider: f.providers[0]!.address, mediator: job.mediator.address, outcome: ChallengeOutcome.ResultUpheld, mediatorResultHash: rerunHash, slashed: 0n },
    ]);
  });

  it("fails alone, with the contract's reason, a verdict for an exact job and one not signed by the drawn mediator", async () => {
    const { store, relaying, given } = relayer();
    const exact = await challengedWithMediator("exact", false, relaying, store);
    const forged = await challengedWithMediator("forged", true, relaying, store);
    const rerunHash = hashOf("whatever");
    const impostor = f.providers.find((p) => p.address !== forged.mediator.address && p.address !== f.providers[0]!.address)!;
    store.add(
      [
        judge("exact", exact.jobId, rerunHash, false, await signVerdict(exact.mediator, f.domain, { jobId: exact.jobId, resultHash: exact.resultHash, rerunHash, upheld: false })),
        judge("forged", forged.jobId, rerunHash, false, await signVerdict(impostor, f.domain, { jobId: forged.jobId, resultHash: forged.resultHash, rerunHash, upheld: false })),
      ],
      Date.now(),
    );
    await drain(relaying, store);
    expect(given.map((g) => [g.intent.intent.jobId, g.reason]).sort()).toEqual([
      ["job_exact", "JobIsExact"],
      ["job_forged", "InvalidMediatorSignature"],
    ]);
    for (const job of [exact, forged]) expect((await f.as(f.relayer).read.jobOf([job.jobId])).status).toBe(JobStatus.Challenged);
  });
});
