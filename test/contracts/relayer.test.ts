// The Worker's relayer (worker/chain/relaying.ts) against the real market on anvil:
// one intent that can never go on chain fails alone, with its reason, and the rest of
// its batch is reserved. Here rather than in test/worker/ because workerd tests cannot
// reach anvil; the relayer's queue runs on Node's SQLite, the engine a Durable
// Object's storage runs (test/helpers/nodeSqlStorage.ts).
import { createPublicClient, createWalletClient, http, keccak256, parseEther, stringToHex, type Hex, type LocalAccount } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jobAuthorizationTypes } from "../../protocol/eip712.ts";
import type { Intent } from "../../worker/chain/intents.ts";
import { RelayerStore, type StoredIntent } from "../../worker/chain/relayerStore.ts";
import { relayOnce, type Relaying } from "../../worker/chain/relaying.ts";
import { getConfig } from "../../worker/config/config.ts";
import { chainOf } from "../../worker/config/chains.ts";
import { startAnvil, type Anvil } from "../helpers/anvil.ts";
import { nodeSqlStorage } from "../helpers/nodeSqlStorage.ts";
import { malleableTwin } from "../helpers/signatures.ts";
import { createMarketFixture, DEFAULT_MAX_PRICE, hashOf, JobStatus, jobIdOf, snapshotIsolation, type MarketFixture } from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 3, providers: 1, deposit: parseEther("1") });
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
/** A reserve intent for `creator`, signed by `signer` (the creator unless said otherwise). */
async function reserveIntent(creator: LocalAccount, options: { signer?: LocalAccount; deadline?: bigint; tamper?: (signature: Hex) => Hex } = {}): Promise<Intent> {
  const label = `relayer-${++jobs}`;
  const chainJobId = jobIdOf(label);
  const deadline = options.deadline ?? (await f.now()) + 86_400n;
  const specHash = hashOf(`spec:${label}`);
  const signature = await (options.signer ?? creator).signTypedData({
    domain: f.domain,
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    message: { jobId: chainJobId, specHash, maxPrice: DEFAULT_MAX_PRICE, deadline },
  });
  return {
    kind: "reserve",
    jobId: `job_${label.replace("-", "")}`,
    chainJobId,
    payload: { creator: creator.address, specHash, maxPriceWei: DEFAULT_MAX_PRICE.toString(), deadline: Number(deadline), signature: options.tamper ? options.tamper(signature) : signature },
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
