import { parseEther } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fundedAccount, localMarketParams, startAnvil, type Anvil } from "../helpers/anvil.ts";
import { createMarketFixture, eventsIn, mined, revertOf, snapshotIsolation, type MarketFixture } from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);
const MIN_STAKE = localMarketParams.minStake;
const DELAY = BigInt(localMarketParams.unbondingDelay);

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 0, providers: 3, stake: parseEther("2") });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

const market = () => f.as(f.owner);
const registry = async () => {
  const count = await market().read.providerCount();
  return Promise.all(Array.from({ length: Number(count) }, (_, i) => market().read.providerAt([BigInt(i)])));
};

describe("register", () => {
  it("joins the registry with at least minStake and gets a lasting id", async () => {
    const newcomer = await fundedAccount(anvil, "newcomer");
    const receipt = await mined(anvil, f.as(newcomer).write.register({ value: MIN_STAKE }));
    expect(eventsIn(receipt, "ProviderRegistered")[0]!.args).toEqual({ provider: newcomer.address, stake: MIN_STAKE });
    expect(await market().read.providerInfo([newcomer.address])).toEqual({
      registered: true,
      stake: MIN_STAKE,
      lockedStake: 0n,
      unbonding: 0n,
      unbondReadyAt: 0n,
      jobsSettled: 0,
      jobsChallenged: 0,
      jobsSlashed: 0,
      id: 4,
    });
    expect(await registry()).toEqual([...f.providers.map((p) => p.address), newcomer.address]);
  });

  it("refuses less than minStake", async () => {
    const newcomer = await fundedAccount(anvil, "newcomer");
    expect(await revertOf(f.as(newcomer).write.register({ value: MIN_STAKE - 1n }))).toEqual({ errorName: "StakeBelowMinimum", args: [MIN_STAKE - 1n, MIN_STAKE] });
  });

  it("refuses a provider already registered", async () => {
    const provider = f.providers[0]!;
    expect(await revertOf(f.as(provider).write.register({ value: MIN_STAKE }))).toEqual({ errorName: "AlreadyRegistered", args: [provider.address] });
  });

  it("is closed while the market is paused", async () => {
    await mined(anvil, market().write.pause());
    const newcomer = await fundedAccount(anvil, "newcomer");
    expect((await revertOf(f.as(newcomer).write.register({ value: MIN_STAKE }))).errorName).toBe("EnforcedPause");
  });
});

describe("addStake", () => {
  it("adds to a registered provider's stake, even while paused", async () => {
    const provider = f.providers[0]!;
    await mined(anvil, market().write.pause());
    const receipt = await mined(anvil, f.as(provider).write.addStake({ value: parseEther("0.5") }));
    expect(eventsIn(receipt, "StakeAdded")[0]!.args).toEqual({ provider: provider.address, amount: parseEther("0.5"), stake: parseEther("2.5") });
    expect((await market().read.providerInfo([provider.address])).stake).toBe(parseEther("2.5"));
  });

  it("refuses an address that is not registered, and adding nothing", async () => {
    const stranger = await fundedAccount(anvil, "stranger");
    expect(await revertOf(f.as(stranger).write.addStake({ value: 1n }))).toEqual({ errorName: "NotRegistered", args: [stranger.address] });
    expect((await revertOf(f.as(f.providers[0]!).write.addStake({ value: 0n }))).errorName).toBe("ZeroAmount");
  });
});

describe("unbonding", () => {
  it("moves stake to unbonding for the unbonding delay, then credits it to the provider's balance", async () => {
    const provider = f.providers[0]!;
    const receipt = await mined(anvil, f.as(provider).write.requestUnbond([parseEther("0.5")]));
    const { timestamp } = await anvil.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    const readyAt = timestamp + DELAY;
    expect(eventsIn(receipt, "UnbondRequested")[0]!.args).toEqual({ provider: provider.address, amount: parseEther("0.5"), unbonding: parseEther("0.5"), readyAt });
    expect(await market().read.providerInfo([provider.address])).toMatchObject({ registered: true, stake: parseEther("1.5"), unbonding: parseEther("0.5"), unbondReadyAt: readyAt });

    expect(await revertOf(f.as(provider).write.completeUnbond())).toEqual({ errorName: "UnbondingNotReady", args: [readyAt] });
    await anvil.testClient.setNextBlockTimestamp({ timestamp: readyAt });
    const done = await mined(anvil, f.as(provider).write.completeUnbond());
    expect(eventsIn(done, "Unbonded")[0]!.args).toEqual({ provider: provider.address, amount: parseEther("0.5") });
    expect(await market().read.accountOf([provider.address])).toEqual([parseEther("0.5"), 0n]);
    expect((await market().read.providerInfo([provider.address])).unbonding).toBe(0n);
    await mined(anvil, f.as(provider).write.withdraw([parseEther("0.5")]));
  });

  it("restarts the delay for the whole amount when more is requested", async () => {
    const provider = f.providers[0]!;
    await mined(anvil, f.as(provider).write.requestUnbond([parseEther("0.2")]));
    await anvil.increaseTime(DELAY - 10n);
    await mined(anvil, f.as(provider).write.requestUnbond([parseEther("0.3")]));
    const info = await market().read.providerInfo([provider.address]);
    expect(info.unbonding).toBe(parseEther("0.5"));
    expect(info.unbondReadyAt).toBeGreaterThan(await f.now());
    expect((await revertOf(f.as(provider).write.completeUnbond())).errorName).toBe("UnbondingNotReady");
  });

  it("refuses more than the unlocked stake, nothing, and completing with nothing unbonding", async () => {
    const provider = f.providers[0]!;
    expect(await revertOf(f.as(provider).write.requestUnbond([parseEther("2") + 1n]))).toEqual({
      errorName: "InsufficientUnlockedStake",
      args: [parseEther("2"), parseEther("2") + 1n],
    });
    expect((await revertOf(f.as(provider).write.requestUnbond([0n]))).errorName).toBe("ZeroAmount");
    expect(await revertOf(f.as(provider).write.completeUnbond())).toEqual({ errorName: "NothingUnbonding", args: [provider.address] });
  });

  it("takes a provider whose stake falls below minStake out of the registry, keeping the others in place", async () => {
    const [p0, p1, p2] = [f.providers[0]!, f.providers[1]!, f.providers[2]!];
    const receipt = await mined(anvil, f.as(p0).write.requestUnbond([parseEther("1.5")]));
    expect(eventsIn(receipt, "ProviderDeregistered")[0]!.args).toEqual({ provider: p0.address, stake: parseEther("0.5") });
    expect(await registry()).toEqual([p2.address, p1.address]);
    expect((await market().read.providerInfo([p0.address])).registered).toBe(false);

    // The provider moved into the freed place can itself leave cleanly.
    await mined(anvil, f.as(p2).write.requestUnbond([parseEther("2")]));
    expect(await registry()).toEqual([p1.address]);
  });

  it("lets a provider that left come back with enough stake, keeping its id and reputation", async () => {
    const provider = f.providers[1]!;
    await mined(anvil, f.as(provider).write.requestUnbond([parseEther("1.5")]));
    expect((await revertOf(f.as(provider).write.register({ value: parseEther("0.4") }))).errorName).toBe("StakeBelowMinimum");
    await mined(anvil, f.as(provider).write.register({ value: parseEther("0.5") }));
    expect(await market().read.providerInfo([provider.address])).toMatchObject({ registered: true, stake: parseEther("1"), id: 2 });
  });

  it("keeps unbonding working while the market is paused", async () => {
    const provider = f.providers[0]!;
    await mined(anvil, market().write.pause());
    await mined(anvil, f.as(provider).write.requestUnbond([parseEther("2")]));
    await anvil.increaseTime(DELAY);
    await mined(anvil, f.as(provider).write.completeUnbond());
    await mined(anvil, f.as(provider).write.withdraw([parseEther("2")]));
    expect(await market().read.accountOf([provider.address])).toEqual([0n, 0n]);
  });
});
