import { parseEther } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fundedAccount, startAnvil, type Anvil } from "../helpers/anvil.ts";
import { createMarketFixture, eventsIn, jobIdOf, mined, revertOf, snapshotIsolation, type MarketFixture } from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 2, providers: 0, deposit: parseEther("1") });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

describe("deposit", () => {
  it("adds the ETH sent to the caller's balance and says so", async () => {
    const creator = f.creators[0]!;
    const receipt = await mined(anvil, f.as(creator).write.deposit({ value: parseEther("2") }));
    expect(await f.as(creator).read.accountOf([creator.address])).toEqual([parseEther("3"), 0n]);
    expect(eventsIn(receipt, "Deposited")[0]!.args).toEqual({ account: creator.address, amount: parseEther("2") });
    // Two creators deposited 1 ETH each when the fixture was built.
    expect(await anvil.publicClient.getBalance({ address: f.address })).toBe(parseEther("4"));
  });

  it("refuses a deposit of nothing", async () => {
    expect((await revertOf(f.as(f.creators[0]!).write.deposit({ value: 0n }))).errorName).toBe("ZeroAmount");
  });

  it("refuses plain ETH sent without calling deposit, so the balance always equals what is owed", async () => {
    const stranger = await fundedAccount(anvil, "stranger");
    await expect(anvil.walletFor(stranger).sendTransaction({ to: f.address, value: 1n })).rejects.toThrow();
  });
});

describe("withdraw", () => {
  it("sends the caller its free balance", async () => {
    const creator = f.creators[0]!;
    const before = await anvil.publicClient.getBalance({ address: creator.address });
    const receipt = await mined(anvil, f.as(creator).write.withdraw([parseEther("0.4")]));
    const gasCost = receipt.gasUsed * receipt.effectiveGasPrice;
    expect(await anvil.publicClient.getBalance({ address: creator.address })).toBe(before + parseEther("0.4") - gasCost);
    expect(await f.as(creator).read.accountOf([creator.address])).toEqual([parseEther("0.6"), 0n]);
    expect(eventsIn(receipt, "Withdrawn")[0]!.args).toEqual({ account: creator.address, amount: parseEther("0.4") });
  });

  it("refuses to withdraw what open jobs reserve", async () => {
    const creator = f.creators[0]!;
    await f.reserve(creator, [{ jobId: jobIdOf("reserved-funds"), maxPrice: parseEther("0.7") }]);
    const refused = await revertOf(f.as(creator).write.withdraw([parseEther("0.5")]));
    expect(refused).toEqual({ errorName: "InsufficientFreeBalance", args: [parseEther("0.3"), parseEther("0.5")] });
    await mined(anvil, f.as(creator).write.withdraw([parseEther("0.3")]));
    expect(await f.as(creator).read.accountOf([creator.address])).toEqual([parseEther("0.7"), parseEther("0.7")]);
  });

  it("refuses more than the balance and a withdrawal of nothing", async () => {
    const creator = f.creators[1]!;
    expect((await revertOf(f.as(creator).write.withdraw([parseEther("1") + 1n]))).errorName).toBe("InsufficientFreeBalance");
    expect((await revertOf(f.as(creator).write.withdraw([0n]))).errorName).toBe("ZeroAmount");
  });

  it("lets an address that never deposited withdraw nothing", async () => {
    const stranger = await fundedAccount(anvil, "stranger");
    expect(await revertOf(f.as(stranger).write.withdraw([1n]))).toEqual({ errorName: "InsufficientFreeBalance", args: [0n, 1n] });
  });
});
