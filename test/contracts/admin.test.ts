import { BaseError, decodeErrorResult, domainSeparator, parseEther, zeroAddress, type Hex } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { EIP712_NAME, EIP712_VERSION } from "../../protocol/eip712.ts";
import { deployMarket, fundedAccount, localMarketParams, startAnvil, type Anvil, type MarketParams } from "../helpers/anvil.ts";
import { createMarketFixture, hashOf, JobStatus, jobIdOf, mined, revertOf, snapshotIsolation, type MarketFixture } from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 1, providers: 2, deposit: parseEther("1") });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

const asOwner = () => f.as(f.owner);

describe("owner levers", () => {
  it("are the owner's alone", async () => {
    const intruder = f.creators[0]!;
    const as = f.as(intruder);
    const attempts = [() => as.write.setRelayer([intruder.address]), () => as.write.setTreasury([intruder.address]), () => as.write.setProtocolFee([0]), () => as.write.pause()];
    for (const attempt of attempts) {
      expect(await revertOf(attempt())).toEqual({ errorName: "OwnableUnauthorizedAccount", args: [intruder.address] });
    }
  });

  it("name a new relayer; the zero address switches the relayer-only paths off", async () => {
    await f.reserve(f.creators[0]!, [{ jobId: jobIdOf("before") }]);
    await mined(anvil, asOwner().write.setRelayer([zeroAddress]));
    expect(await asOwner().read.relayer()).toBe(zeroAddress);
    expect((await revertOf(f.reserve(f.creators[0]!, [{ jobId: jobIdOf("after") }]))).errorName).toBe("NotRelayer");
  });

  it("set the protocol fee only up to the hard cap", async () => {
    await mined(anvil, asOwner().write.setProtocolFee([1_000]));
    expect(await asOwner().read.protocolFeeBps()).toBe(1_000);
    expect(await revertOf(asOwner().write.setProtocolFee([1_001]))).toEqual({ errorName: "FeeAboveCap", args: [1_001n, 1_000n] });
  });

  it("refuse a treasury at the zero address, where fees could never be withdrawn", async () => {
    expect((await revertOf(asOwner().write.setTreasury([zeroAddress]))).errorName).toBe("ZeroAddress");
    const newTreasury = await fundedAccount(anvil, "new-treasury");
    await mined(anvil, asOwner().write.setTreasury([newTreasury.address]));
    expect(await asOwner().read.treasury()).toBe(newTreasury.address);
  });

  it("hand ownership over in two steps", async () => {
    const successor = await fundedAccount(anvil, "successor");
    await mined(anvil, asOwner().write.transferOwnership([successor.address]));
    expect(await asOwner().read.owner()).toBe(f.owner.address);
    expect((await revertOf(f.as(f.creators[0]!).write.acceptOwnership())).errorName).toBe("OwnableUnauthorizedAccount");
    await mined(anvil, f.as(successor).write.acceptOwnership());
    expect(await asOwner().read.owner()).toBe(successor.address);
    expect((await revertOf(asOwner().write.pause())).errorName).toBe("OwnableUnauthorizedAccount");
  });

  it("include nothing that moves anyone's funds: the state-changing functions are exactly these", () => {
    const writes = pondMarketAbi
      .filter((item) => item.type === "function" && (item.stateMutability === "nonpayable" || item.stateMutability === "payable"))
      .map((item) => (item as { name: string }).name)
      .sort();
    expect(writes).toEqual([
      "acceptOwnership",
      "addStake",
      "assignMediator",
      "challenge",
      "completeUnbond",
      "deposit",
      "expireChallenge",
      "judgeChallenge",
      "pause",
      "register",
      "releaseJobs",
      "renounceOwnership",
      "requestUnbond",
      "reserveJobs",
      "resolveChallenge",
      "setProtocolFee",
      "setRelayer",
      "setTreasury",
      "settleJobs",
      "submitResults",
      "transferOwnership",
      "unpause",
      "withdraw",
    ]);
  });

  it("leave the owner unable to withdraw a creator's escrow", async () => {
    expect(await revertOf(asOwner().write.withdraw([1n]))).toEqual({ errorName: "InsufficientFreeBalance", args: [0n, 1n] });
  });
});

describe("pause", () => {
  it("stops new work and never traps funds: jobs in flight finish and everyone withdraws", async () => {
    const [creator, provider] = [f.creators[0]!, f.providers[0]!];
    const newcomer = await fundedAccount(anvil, "newcomer");
    await f.reserve(creator, [{ jobId: jobIdOf("in-flight"), maxPrice: parseEther("0.1") }, { jobId: jobIdOf("dropped") }]);

    await mined(anvil, asOwner().write.pause());
    expect(await asOwner().read.paused()).toBe(true);
    expect((await revertOf(f.as(creator).write.deposit({ value: 1n }))).errorName).toBe("EnforcedPause");
    expect((await revertOf(f.reserve(creator, [{ jobId: jobIdOf("new") }]))).errorName).toBe("EnforcedPause");
    expect((await revertOf(f.as(newcomer).write.register({ value: parseEther("1") }))).errorName).toBe("EnforcedPause");

    await f.report(provider, [{ jobId: jobIdOf("in-flight"), resultHash: hashOf("out"), amount: parseEther("0.1") }]);
    await mined(anvil, f.as(f.relayer).write.releaseJobs([[jobIdOf("dropped")]]));
    await anvil.increaseTime(localMarketParams.challengeWindow);
    await mined(anvil, f.as(f.relayer).write.settleJobs([[jobIdOf("in-flight")]]));
    expect((await asOwner().read.jobOf([jobIdOf("in-flight")])).status).toBe(JobStatus.Settled);

    const [creatorBalance] = await asOwner().read.accountOf([creator.address]);
    await mined(anvil, f.as(creator).write.withdraw([creatorBalance]));
    const [providerBalance] = await asOwner().read.accountOf([provider.address]);
    await mined(anvil, f.as(provider).write.withdraw([providerBalance]));
    await mined(anvil, f.as(provider).write.requestUnbond([parseEther("2")]));
    await anvil.increaseTime(localMarketParams.unbondingDelay);
    await mined(anvil, f.as(provider).write.completeUnbond());
    await mined(anvil, f.as(provider).write.withdraw([parseEther("2")]));

    expect((await revertOf(asOwner().write.pause())).errorName).toBe("EnforcedPause");
    await mined(anvil, asOwner().write.unpause());
    expect((await revertOf(asOwner().write.unpause())).errorName).toBe("ExpectedPause");
    await mined(anvil, f.as(creator).write.deposit({ value: 1n }));
  });
});

describe("deployment", () => {
  it("binds signatures to the Pond EIP-712 domain of this chain and contract", async () => {
    const [, name, version, chainId, verifyingContract] = await asOwner().read.eip712Domain();
    expect({ name, version, chainId, verifyingContract }).toEqual({ name: EIP712_NAME, version: EIP712_VERSION, chainId: BigInt(anvil.chainId), verifyingContract: f.address });
    expect(await asOwner().read.domainSeparator()).toBe(domainSeparator({ domain: f.domain }));
  });

  it("exposes the rules it was deployed with", async () => {
    expect(await asOwner().read.marketParams()).toEqual(localMarketParams);
    expect(await asOwner().read.MAX_PROTOCOL_FEE_BPS()).toBe(1_000);
  });

  it("refuses rules that would break the game", async () => {
    const cases: Array<[Partial<MarketParams>, string]> = [
      [{ minStake: 0n }, "minStake"],
      [{ challengeBond: 0n }, "challengeBond"],
      [{ challengeWindow: 0 }, "challengeWindow"],
      [{ unbondingDelay: localMarketParams.challengeWindow }, "unbondingDelay"],
      [{ mediationTimeout: 0 }, "mediationTimeout"],
      [{ slashMultiplier: 0 }, "slashMultiplier"],
      [{ mediatorBondShareBps: 10_001 }, "mediatorBondShareBps"],
      [{ mediatorSlashShareBps: 10_001 }, "mediatorSlashShareBps"],
    ];
    for (const [params, name] of cases) {
      expect(await deploymentError(deployMarket(anvil, { deployer: f.owner, params }))).toEqual({ errorName: "InvalidParameter", args: [name] });
    }
    expect((await deploymentError(deployMarket(anvil, { deployer: f.owner, protocolFeeBps: 1_001 }))).errorName).toBe("FeeAboveCap");
    expect((await deploymentError(deployMarket(anvil, { deployer: f.owner, treasury: zeroAddress }))).errorName).toBe("ZeroAddress");
  });
});

/** A failed deployment's custom error: deployments carry no ABI context, so decode the revert data here. */
async function deploymentError(deploying: Promise<unknown>): Promise<{ errorName: string; args: readonly unknown[] | undefined }> {
  try {
    await deploying;
  } catch (error) {
    const withData = error instanceof BaseError ? error.walk((e) => typeof (e as { data?: unknown }).data === "string") : undefined;
    const data = (withData as { data?: Hex } | undefined)?.data;
    if (!data) throw error;
    const decoded = decodeErrorResult({ abi: pondMarketAbi, data });
    return { errorName: decoded.errorName, args: decoded.args };
  }
  throw new Error("expected the deployment to revert");
}
