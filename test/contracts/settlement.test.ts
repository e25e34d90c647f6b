import { parseEther, zeroAddress } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pondDomain } from "../../protocol/eip712.ts";
import { fundedAccount, localMarketParams, startAnvil, type Anvil } from "../helpers/anvil.ts";
import {
  CreditReason,
  createMarketFixture,
  eventsIn,
  hashOf,
  JobStatus,
  jobIdOf,
  mined,
  revertOf,
  signResult,
  snapshotIsolation,
  type MarketFixture,
} from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);
const WINDOW = BigInt(localMarketParams.challengeWindow);
const GRACE = BigInt(localMarketParams.releaseGrace);
const FEE_BPS = 100n;

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 2, providers: 2, deposit: parseEther("1"), protocolFeeBps: Number(FEE_BPS) });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

const relayer = () => f.as(f.relayer);
const price = parseEther("0.1");
const claim = parseEther("0.08");

async function reservedJob(label: string) {
  const [reservation] = await f.reserve(f.creators[0]!, [{ jobId: jobIdOf(label), maxPrice: price }]);
  return reservation!;
}

describe("submitResults", () => {
  it("records the provider's signed claim, shrinks the reservation to it and opens the challenge window", async () => {
    const [creator, provider] = [f.creators[0]!, f.providers[0]!];
    await reservedJob("run");
    const result = await signResult(provider, f.domain, { jobId: jobIdOf("run"), resultHash: hashOf("out"), amount: claim });
    const receipt = await mined(anvil, relayer().write.submitResults([[result]]));
    const { timestamp } = await anvil.publicClient.getBlock({ blockNumber: receipt.blockNumber });

    expect(await relayer().read.jobOf([jobIdOf("run")])).toEqual({
      status: JobStatus.Reported,
      time: timestamp + WINDOW,
      creator: creator.address,
      provider: provider.address,
      amount: claim,
      tolerant: false,
    });
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1"), claim]);
    expect(eventsIn(receipt, "ResultSubmitted")[0]!.args).toEqual({
      jobId: jobIdOf("run"),
      provider: provider.address,
      resultHash: hashOf("out"),
      amount: claim,
      challengeEnd: timestamp + WINDOW,
    });
  });

  it("refuses a claim whose signed fields were altered: it recovers an address that is no provider", async () => {
    await reservedJob("altered");
    const signed = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("altered"), resultHash: hashOf("out"), amount: claim });
    for (const altered of [{ ...signed, amount: claim + 1n }, { ...signed, resultHash: hashOf("other") }]) {
      const refused = await revertOf(relayer().write.submitResults([[altered]]));
      expect(refused.errorName).toBe("ProviderNotRegistered");
      expect(refused.args[1]).not.toBe(f.providers[0]!.address);
    }
  });

  it("refuses a result signed by another provider for another claim", async () => {
    await reservedJob("mixed");
    const mine = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("mixed"), resultHash: hashOf("mine"), amount: claim });
    const theirs = await signResult(f.providers[1]!, f.domain, { jobId: jobIdOf("mixed"), resultHash: hashOf("theirs"), amount: claim });
    const spliced = { ...mine, providerSignature: theirs.providerSignature };
    expect((await revertOf(relayer().write.submitResults([[spliced]]))).errorName).toBe("ProviderNotRegistered");
  });

  it("refuses a result signed by an address that is not a registered provider", async () => {
    await reservedJob("outsider");
    const outsider = await fundedAccount(anvil, "outsider");
    const result = await signResult(outsider, f.domain, { jobId: jobIdOf("outsider"), resultHash: hashOf("out"), amount: claim });
    expect(await revertOf(relayer().write.submitResults([[result]]))).toEqual({ errorName: "ProviderNotRegistered", args: [jobIdOf("outsider"), outsider.address] });
  });

  it("refuses signatures made for another chain or another market", async () => {
    await reservedJob("domain");
    for (const domain of [pondDomain(1, f.address), pondDomain(anvil.chainId, "0x000000000000000000000000000000000000dEaD")]) {
      const result = await signResult(f.providers[0]!, domain, { jobId: jobIdOf("domain"), resultHash: hashOf("out"), amount: claim });
      expect((await revertOf(relayer().write.submitResults([[result]]))).errorName).toBe("ProviderNotRegistered");
    }
  });

  it("refuses a signature that recovers no address at all", async () => {
    await reservedJob("garbage");
    const result = { jobId: jobIdOf("garbage"), resultHash: hashOf("out"), amount: claim, providerSignature: { r: hashOf("r"), yParityAndS: `0x${"ff".repeat(32)}` as const } };
    expect(await revertOf(relayer().write.submitResults([[result]]))).toEqual({ errorName: "InvalidProviderSignature", args: [jobIdOf("garbage")] });
  });

  it("refuses a claim above the job's maxPrice", async () => {
    await reservedJob("greedy");
    const result = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("greedy"), resultHash: hashOf("out"), amount: price + 1n });
    expect(await revertOf(relayer().write.submitResults([[result]]))).toEqual({ errorName: "AmountAboveMaxPrice", args: [jobIdOf("greedy"), price + 1n, price] });
  });

  it("takes results only from the relayer until the authorization deadline, then from anyone until the grace period ends", async () => {
    const provider = f.providers[0]!;
    const reservation = await reservedJob("fallback");
    const result = await signResult(provider, f.domain, { jobId: jobIdOf("fallback"), resultHash: hashOf("out"), amount: claim });
    expect(await revertOf(f.as(provider).write.submitResults([[result]]))).toEqual({
      errorName: "ResultsRelayerOnlyUntil",
      args: [jobIdOf("fallback"), reservation.deadline],
    });
    await anvil.testClient.setNextBlockTimestamp({ timestamp: reservation.deadline + 1n });
    await mined(anvil, f.as(provider).write.submitResults([[result]]));
    expect((await relayer().read.jobOf([jobIdOf("fallback")])).status).toBe(JobStatus.Reported);
  });

  it("refuses a result once the deadline plus the grace period has passed", async () => {
    const reservation = await reservedJob("too-late");
    const result = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("too-late"), resultHash: hashOf("out"), amount: claim });
    await anvil.testClient.setNextBlockTimestamp({ timestamp: reservation.deadline + GRACE + 1n });
    expect(await revertOf(relayer().write.submitResults([[result]]))).toEqual({
      errorName: "ResultTooLate",
      args: [jobIdOf("too-late"), reservation.deadline + GRACE],
    });
  });

  it("skips a job that already has a result, so a second claim never replaces the first", async () => {
    await reservedJob("twice");
    const first = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("twice"), resultHash: hashOf("first"), amount: claim });
    const second = await signResult(f.providers[1]!, f.domain, { jobId: jobIdOf("twice"), resultHash: hashOf("second"), amount: 1n });
    const receipt = await mined(anvil, relayer().write.submitResults([[first, second, first]]));
    expect(eventsIn(receipt, "ResultSubmitted")).toHaveLength(1);
    const again = await mined(anvil, relayer().write.submitResults([[second]]));
    expect(eventsIn(again, "ResultSubmitted")).toEqual([]);
    expect(await relayer().read.jobOf([jobIdOf("twice")])).toMatchObject({ provider: f.providers[0]!.address, amount: claim });
  });

  it("skips a job that was released", async () => {
    await reservedJob("released");
    await mined(anvil, relayer().write.releaseJobs([[jobIdOf("released")]]));
    const result = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("released"), resultHash: hashOf("out"), amount: claim });
    const receipt = await mined(anvil, relayer().write.submitResults([[result]]));
    expect(eventsIn(receipt, "ResultSubmitted")).toEqual([]);
    expect((await relayer().read.jobOf([jobIdOf("released")])).status).toBe(JobStatus.Released);
  });

  it("refuses a job id that was never reserved", async () => {
    const result = await signResult(f.providers[0]!, f.domain, { jobId: jobIdOf("ghost"), resultHash: hashOf("out"), amount: 0n });
    expect(await revertOf(relayer().write.submitResults([[result]]))).toEqual({ errorName: "UnknownJob", args: [jobIdOf("ghost")] });
  });

  it("refuses a provider that left the registry", async () => {
    const provider = f.providers[1]!;
    await reservedJob("left");
    await mined(anvil, f.as(provider).write.requestUnbond([parseEther("1.5")]));
    const result = await signResult(provider, f.domain, { jobId: jobIdOf("left"), resultHash: hashOf("out"), amount: claim });
    expect((await revertOf(relayer().write.submitResults([[result]]))).errorName).toBe("ProviderNotRegistered");
  });

  it("keeps accepting results for reserved jobs while the market is paused", async () => {
    await reservedJob("paused");
    await mined(anvil, f.as(f.owner).write.pause());
    await f.report(f.providers[0]!, [{ jobId: jobIdOf("paused"), resultHash: hashOf("out"), amount: claim }]);
    expect((await relayer().read.jobOf([jobIdOf("paused")])).status).toBe(JobStatus.Reported);
  });
});

describe("settleJobs", () => {
  async function reportedJob(label: string, provider = f.providers[0]!) {
    await reservedJob(label);
    const [result] = await f.report(provider, [{ jobId: jobIdOf(label), resultHash: hashOf(`out:${label}`), amount: claim }]);
    return result!;
  }

  it("refuses to settle while the challenge window is open, and settles in its closing second", async () => {
    await reportedJob("window");
    const { time: challengeEnd } = await relayer().read.jobOf([jobIdOf("window")]);
    expect(await revertOf(relayer().write.settleJobs([[jobIdOf("window")]]))).toEqual({ errorName: "ChallengeWindowOpen", args: [jobIdOf("window"), challengeEnd] });
    await anvil.testClient.setNextBlockTimestamp({ timestamp: challengeEnd });
    await mined(anvil, relayer().write.settleJobs([[jobIdOf("window")]]));
    expect((await relayer().read.jobOf([jobIdOf("window")])).status).toBe(JobStatus.Settled);
  });

  it("pays the provider the claim less the protocol fee, charges the creator and credits the treasury once per batch", async () => {
    const [creator, p0, p1] = [f.creators[0]!, f.providers[0]!, f.providers[1]!];
    await reportedJob("pay-0", p0);
    await reportedJob("pay-1", p1);
    await reportedJob("pay-2", p0);
    await anvil.increaseTime(WINDOW);
    const stranger = await fundedAccount(anvil, "stranger");
    const receipt = await mined(anvil, f.as(stranger).write.settleJobs([[jobIdOf("pay-0"), jobIdOf("pay-1"), jobIdOf("pay-2")]]));

    const fee = (claim * FEE_BPS) / 10_000n;
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1") - 3n * claim, 0n]);
    expect(await relayer().read.accountOf([p0.address])).toEqual([2n * (claim - fee), 0n]);
    expect(await relayer().read.accountOf([p1.address])).toEqual([claim - fee, 0n]);
    expect(await relayer().read.accountOf([f.treasury.address])).toEqual([3n * fee, 0n]);
    expect(eventsIn(receipt, "JobSettled").map((e) => e.args)).toEqual([
      { jobId: jobIdOf("pay-0"), creator: creator.address, provider: p0.address, amount: claim, fee },
      { jobId: jobIdOf("pay-1"), creator: creator.address, provider: p1.address, amount: claim, fee },
      { jobId: jobIdOf("pay-2"), creator: creator.address, provider: p0.address, amount: claim, fee },
    ]);
    expect(eventsIn(receipt, "Credited").map((e) => e.args)).toEqual([
      { account: f.treasury.address, jobId: `0x${"00".repeat(32)}`, amount: 3n * fee, reason: CreditReason.ProtocolFee },
    ]);
    expect((await relayer().read.providerInfo([p0.address])).jobsSettled).toBe(2);
    expect((await relayer().read.providerInfo([p1.address])).jobsSettled).toBe(1);

    await mined(anvil, f.as(p0).write.withdraw([2n * (claim - fee)]));
    expect(await relayer().read.accountOf([p0.address])).toEqual([0n, 0n]);
  });

  it("never pays twice: a job settled again, in the same batch or a later one, is skipped", async () => {
    const provider = f.providers[0]!;
    await reportedJob("once");
    await anvil.increaseTime(WINDOW);
    const receipt = await mined(anvil, relayer().write.settleJobs([[jobIdOf("once"), jobIdOf("once")]]));
    expect(eventsIn(receipt, "JobSettled")).toHaveLength(1);
    const again = await mined(anvil, relayer().write.settleJobs([[jobIdOf("once")]]));
    expect(again.logs).toEqual([]);
    const fee = (claim * FEE_BPS) / 10_000n;
    expect(await relayer().read.accountOf([provider.address])).toEqual([claim - fee, 0n]);
    expect((await relayer().read.providerInfo([provider.address])).jobsSettled).toBe(1);
  });

  it("refuses a job without a result and a job id never reserved", async () => {
    await reservedJob("no-result");
    expect(await revertOf(relayer().write.settleJobs([[jobIdOf("no-result")]]))).toEqual({ errorName: "ResultMissing", args: [jobIdOf("no-result")] });
    expect(await revertOf(relayer().write.settleJobs([[jobIdOf("ghost")]]))).toEqual({ errorName: "UnknownJob", args: [jobIdOf("ghost")] });
  });

  it("takes the fee in force at settlement, up to the cap", async () => {
    await reportedJob("fee-change");
    await mined(anvil, f.as(f.owner).write.setProtocolFee([1_000]));
    await anvil.increaseTime(WINDOW);
    const receipt = await mined(anvil, relayer().write.settleJobs([[jobIdOf("fee-change")]]));
    expect(eventsIn(receipt, "JobSettled")[0]!.args.fee).toBe(claim / 10n);
  });

  it("settles while the market is paused", async () => {
    await reportedJob("paused");
    await mined(anvil, f.as(f.owner).write.pause());
    await anvil.increaseTime(WINDOW);
    await mined(anvil, relayer().write.settleJobs([[jobIdOf("paused")]]));
    expect((await relayer().read.jobOf([jobIdOf("paused")])).status).toBe(JobStatus.Settled);
  });

  it("clears the job word down to its status once settled", async () => {
    await reportedJob("cleared");
    await anvil.increaseTime(WINDOW);
    await mined(anvil, relayer().write.settleJobs([[jobIdOf("cleared")]]));
    expect(await relayer().read.jobOf([jobIdOf("cleared")])).toEqual({ status: JobStatus.Settled, time: 0n, creator: zeroAddress, provider: zeroAddress, amount: 0n, tolerant: false });
  });
});
