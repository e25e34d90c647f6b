import { encodeAbiParameters, keccak256, parseEther, zeroAddress, type Address, type Hex } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { fundedAccount, localMarketParams, startAnvil, type Anvil } from "../helpers/anvil.ts";
import {
  ChallengeOutcome,
  CreditReason,
  createMarketFixture,
  eventsIn,
  hashOf,
  JobStatus,
  jobIdOf,
  mined,
  ReleaseReason,
  revertOf,
  signMediation,
  snapshotIsolation,
  type MarketFixture,
} from "./marketFixture.ts";
import { challengeSteps } from "./challengeSteps.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);
const WINDOW = BigInt(localMarketParams.challengeWindow);
const TIMEOUT = BigInt(localMarketParams.mediationTimeout);
const BOND = localMarketParams.challengeBond;
const SLASH_MULTIPLIER = BigInt(localMarketParams.slashMultiplier);
const FEE_BPS = 100n;
const STAKE = parseEther("2");
const AMOUNT = parseEther("0.1");

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 2, providers: 4, deposit: parseEther("1"), stake: STAKE, protocolFeeBps: Number(FEE_BPS) });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

const market = () => f.as(f.owner);
const creator = () => f.creators[0]!;
const provider = () => f.providers[0]!;
const accountOf = (account: { address: Address }) => market().read.accountOf([account.address]);
const withoutFee = (amount: bigint) => amount - (amount * FEE_BPS) / 10_000n;

const { reportedJob, challenged, withMediator } = challengeSteps(() => ({ anvil, f }));

/** The mediator the contract must draw: probe from hash(seed block hash, job id) mod count, skipping the two parties. */
async function expectedMediator(jobId: Hex, seedBlock: bigint, excluded: Address[]): Promise<Address> {
  const { hash } = await anvil.publicClient.getBlock({ blockNumber: seedBlock });
  const seed = BigInt(keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [hash!, jobId])));
  const count = await market().read.providerCount();
  for (let i = 0n; i < 3n && i < count; i++) {
    const candidate = await market().read.providerAt([(seed % count + i) % count]);
    if (!excluded.includes(candidate)) return candidate;
  }
  return zeroAddress;
}

describe("challenge", () => {
  it("takes the creator's bond, locks min(stake, slashMultiplier × amount) and fixes the seed block and deadline", async () => {
    const result = await reportedJob("open");
    const receipt = await mined(anvil, f.as(creator()).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND }));
    const { timestamp } = await anvil.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    const locked = SLASH_MULTIPLIER * AMOUNT;

    expect(eventsIn(receipt, "ChallengeOpened")[0]!.args).toEqual({
      jobId: result.jobId,
      creator: creator().address,
      provider: provider().address,
      bond: BOND,
      lockedStake: locked,
      seedBlock: receipt.blockNumber + 1n,
      respondBy: timestamp + TIMEOUT,
    });
    expect(await market().read.challengeOf([result.jobId])).toEqual({
      creator: creator().address,
      provider: provider().address,
      mediator: zeroAddress,
      amount: AMOUNT,
      bond: BOND,
      lockedStake: locked,
      resultHash: result.resultHash,
      seedBlock: receipt.blockNumber + 1n,
      respondBy: timestamp + TIMEOUT,
      tolerant: false,
    });
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ lockedStake: locked, jobsChallenged: 1 });
    expect(await market().read.jobOf([result.jobId])).toMatchObject({ status: JobStatus.Challenged, time: timestamp + TIMEOUT });
  });

  it("refuses anyone but the job's creator", async () => {
    const result = await reportedJob("not-mine");
    const other = f.creators[1]!;
    expect(await revertOf(f.as(other).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND }))).toEqual({
      errorName: "NotJobCreator",
      args: [result.jobId, other.address],
    });
  });

  it("refuses once the challenge window has closed", async () => {
    const result = await reportedJob("closed");
    const { time: challengeEnd } = await market().read.jobOf([result.jobId]);
    await anvil.testClient.setNextBlockTimestamp({ timestamp: challengeEnd });
    expect(await revertOf(f.as(creator()).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND }))).toEqual({
      errorName: "ChallengeWindowClosed",
      args: [result.jobId, challengeEnd],
    });
  });

  it("refuses a bond below challengeBond", async () => {
    const result = await reportedJob("cheap");
    expect(await revertOf(f.as(creator()).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND - 1n }))).toEqual({
      errorName: "BondTooSmall",
      args: [BOND - 1n, BOND],
    });
  });

  it("refuses a result hash the provider did not sign, even one with the same recorded tag", async () => {
    const result = await reportedJob("framed");
    const sameTag = `${result.resultHash.slice(0, 60)}${"0".repeat(6)}` as Hex;
    expect(sameTag).not.toBe(result.resultHash);
    expect(await revertOf(f.as(creator()).write.challenge([result.jobId, sameTag, result.providerSignature], { value: BOND }))).toEqual({
      errorName: "ResultNotProven",
      args: [result.jobId],
    });
    const otherTag = hashOf("something else");
    expect((await revertOf(f.as(creator()).write.challenge([result.jobId, otherTag, result.providerSignature], { value: BOND }))).errorName).toBe("ResultNotProven");
  });

  it("refuses a job that has no result yet or is already settled", async () => {
    await f.reserve(creator(), [{ jobId: jobIdOf("early") }]);
    const signature = { r: hashOf("r"), yParityAndS: hashOf("s") };
    expect(await revertOf(f.as(creator()).write.challenge([jobIdOf("early"), hashOf("x"), signature], { value: BOND }))).toEqual({
      errorName: "NotChallengeable",
      args: [jobIdOf("early"), JobStatus.Reserved],
    });
    const result = await reportedJob("settled");
    await anvil.increaseTime(WINDOW);
    await mined(anvil, market().write.settleJobs([[result.jobId]]));
    expect((await revertOf(f.as(creator()).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND }))).args).toEqual([
      result.jobId,
      JobStatus.Settled,
    ]);
  });

  it("takes the job out of settlement: a batch that names it skips it", async () => {
    const result = await challenged("skip");
    await anvil.increaseTime(WINDOW);
    const receipt = await mined(anvil, market().write.settleJobs([[result.jobId]]));
    expect(eventsIn(receipt, "JobSettled")).toEqual([]);
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Challenged);
  });

  it("works while the market is paused", async () => {
    const result = await reportedJob("paused");
    await mined(anvil, market().write.pause());
    await mined(anvil, f.as(creator()).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND }));
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Challenged);
  });

  it("reclaims unbonding stake when the free stake cannot cover the lock, and that locked stake cannot leave", async () => {
    const result = await reportedJob("escape", { amount: parseEther("0.5") });
    await mined(anvil, f.as(provider()).write.requestUnbond([parseEther("1.5")]));
    const receipt = await mined(anvil, f.as(creator()).write.challenge([result.jobId, result.resultHash, result.providerSignature], { value: BOND }));
    expect(eventsIn(receipt, "UnbondingReclaimed")[0]!.args).toEqual({ provider: provider().address, amount: parseEther("1.5") });
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ stake: STAKE, lockedStake: STAKE, unbonding: 0n });
    expect((await revertOf(f.as(provider()).write.requestUnbond([1n]))).errorName).toBe("InsufficientUnlockedStake");
  });
});

describe("assignMediator", () => {
  it("waits for the seed block, which did not exist when the challenge was made", async () => {
    const result = await challenged("seed");
    const { seedBlock } = await market().read.challengeOf([result.jobId]);
    expect(await revertOf(market().write.assignMediator([result.jobId]))).toEqual({ errorName: "SeedBlockNotMined", args: [result.jobId, seedBlock] });
  });

  it("draws from the registry by the seed block's hash, never the creator nor the provider", async () => {
    // The creator also runs a provider: it must never mediate its own job.
    await mined(anvil, f.as(creator()).write.register({ value: STAKE }));
    for (const label of ["draw-1", "draw-2", "draw-3", "draw-4"]) {
      const result = await challenged(label);
      const { seedBlock } = await market().read.challengeOf([result.jobId]);
      await anvil.testClient.mine({ blocks: 1 });
      const receipt = await mined(anvil, f.as(f.creators[1]!).write.assignMediator([result.jobId]));
      const { mediator, respondBy } = await market().read.challengeOf([result.jobId]);
      expect(mediator).toBe(await expectedMediator(result.jobId, seedBlock, [creator().address, provider().address]));
      expect([creator().address, provider().address]).not.toContain(mediator);
      expect(eventsIn(receipt, "MediatorAssigned")[0]!.args).toEqual({ jobId: result.jobId, mediator, respondBy });
    }
  });

  it("draws the only eligible provider when the other registered ones are the parties", async () => {
    await mined(anvil, f.as(creator()).write.register({ value: STAKE }));
    for (const leaving of [f.providers[2]!, f.providers[3]!]) await mined(anvil, f.as(leaving).write.requestUnbond([STAKE]));
    const result = await challenged("only-one");
    expect((await withMediator(result.jobId)).address).toBe(f.providers[1]!.address);
  });

  it("refuses when no registered provider is eligible", async () => {
    for (const leaving of f.providers.slice(1)) await mined(anvil, f.as(leaving).write.requestUnbond([STAKE]));
    const result = await challenged("nobody");
    await anvil.testClient.mine({ blocks: 1 });
    expect(await revertOf(market().write.assignMediator([result.jobId]))).toEqual({ errorName: "NoEligibleMediator", args: [result.jobId] });
  });

  it("re-seeds from a new block when the seed block's hash is out of reach", async () => {
    const result = await challenged("stale");
    await anvil.testClient.mine({ blocks: 300 });
    const receipt = await mined(anvil, market().write.assignMediator([result.jobId]));
    const { seedBlock, mediator } = await market().read.challengeOf([result.jobId]);
    expect(mediator).toBe(zeroAddress);
    expect(seedBlock).toBe(receipt.blockNumber + 1n);
    expect(eventsIn(receipt, "MediatorReseeded")[0]!.args).toEqual({ jobId: result.jobId, seedBlock });
    expect((await withMediator(result.jobId)).address).toBe(await expectedMediator(result.jobId, seedBlock, [creator().address, provider().address]));
  });

  it("refuses a second draw, a draw after the deadline and a job not challenged", async () => {
    const result = await challenged("again");
    const mediator = await withMediator(result.jobId);
    expect(await revertOf(market().write.assignMediator([result.jobId]))).toEqual({ errorName: "MediatorAlreadyAssigned", args: [result.jobId, mediator.address] });

    const late = await challenged("late-draw");
    const { respondBy } = await market().read.challengeOf([late.jobId]);
    await anvil.testClient.setNextBlockTimestamp({ timestamp: respondBy + 1n });
    await anvil.testClient.mine({ blocks: 1 });
    expect(await revertOf(market().write.assignMediator([late.jobId]))).toEqual({ errorName: "MediationExpired", args: [late.jobId, respondBy] });

    const unchallenged = await reportedJob("calm");
    expect(await revertOf(market().write.assignMediator([unchallenged.jobId]))).toEqual({ errorName: "NotChallenged", args: [unchallenged.jobId] });
  });
});

describe("resolveChallenge", () => {
  it("upholds a result the mediator reproduced: the provider is paid and earns the bond less the mediator's share", async () => {
    const result = await challenged("upheld");
    const mediator = await withMediator(result.jobId);
    const verdict = await signMediation(mediator, f.domain, result.jobId, result.resultHash);
    const stranger = await fundedAccount(anvil, "stranger");
    const receipt = await mined(anvil, f.as(stranger).write.resolveChallenge([result.jobId, result.resultHash, verdict]));

    const mediatorReward = (BOND * BigInt(localMarketParams.mediatorBondShareBps)) / 10_000n;
    const fee = AMOUNT - withoutFee(AMOUNT);
    expect(await accountOf(creator())).toEqual([parseEther("1") - AMOUNT, 0n]);
    expect(await accountOf(provider())).toEqual([withoutFee(AMOUNT) + BOND - mediatorReward, 0n]);
    expect(await accountOf(mediator)).toEqual([mediatorReward, 0n]);
    expect(await accountOf(f.treasury)).toEqual([fee, 0n]);
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ stake: STAKE, lockedStake: 0n, jobsSettled: 1, jobsChallenged: 1, jobsSlashed: 0 });
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Settled);
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toEqual({
      jobId: result.jobId,
      provider: provider().address,
      mediator: mediator.address,
      outcome: ChallengeOutcome.ResultUpheld,
      mediatorResultHash: result.resultHash,
      slashed: 0n,
    });
    expect(eventsIn(receipt, "JobSettled")[0]!.args).toMatchObject({ jobId: result.jobId, amount: AMOUNT, fee });
    expect(eventsIn(receipt, "Credited").map((e) => [e.args.account, e.args.amount, e.args.reason])).toEqual([
      [mediator.address, mediatorReward, CreditReason.MediatorReward],
      [provider().address, BOND - mediatorReward, CreditReason.BondToProvider],
      [f.treasury.address, fee, CreditReason.ProtocolFee],
    ]);
    expect(await market().read.challengeOf([result.jobId])).toMatchObject({ creator: zeroAddress, bond: 0n });
  });

  it("rejects a result the mediator could not reproduce: the provider is slashed and the creator refunded", async () => {
    const result = await challenged("rejected");
    const mediator = await withMediator(result.jobId);
    const verdict = await signMediation(mediator, f.domain, result.jobId, hashOf("the real output"));
    const receipt = await mined(anvil, market().write.resolveChallenge([result.jobId, hashOf("the real output"), verdict]));

    const slashed = SLASH_MULTIPLIER * AMOUNT;
    const mediatorShare = (slashed * BigInt(localMarketParams.mediatorSlashShareBps)) / 10_000n;
    expect(await accountOf(creator())).toEqual([parseEther("1") + BOND + slashed - mediatorShare, 0n]);
    expect(await accountOf(mediator)).toEqual([mediatorShare, 0n]);
    expect(await accountOf(provider())).toEqual([0n, 0n]);
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ stake: STAKE - slashed, lockedStake: 0n, jobsSettled: 0, jobsSlashed: 1 });
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Refunded);
    expect(eventsIn(receipt, "JobReleased")[0]!.args).toEqual({ jobId: result.jobId, creator: creator().address, amount: AMOUNT, reason: ReleaseReason.ResultRejected });
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toMatchObject({ outcome: ChallengeOutcome.ResultRejected, slashed, mediatorResultHash: hashOf("the real output") });
    expect(eventsIn(receipt, "Credited").map((e) => [e.args.account, e.args.amount, e.args.reason])).toEqual([
      [mediator.address, mediatorShare, CreditReason.MediatorReward],
      [creator().address, BOND, CreditReason.BondReturned],
      [creator().address, slashed - mediatorShare, CreditReason.SlashCompensation],
    ]);
  });

  it("takes a provider slashed below minStake out of the registry", async () => {
    const result = await challenged("ruined", { amount: parseEther("0.5") });
    const mediator = await withMediator(result.jobId);
    const verdict = await signMediation(mediator, f.domain, result.jobId, hashOf("different"));
    const receipt = await mined(anvil, market().write.resolveChallenge([result.jobId, hashOf("different"), verdict]));
    expect(eventsIn(receipt, "ProviderDeregistered")[0]!.args).toEqual({ provider: provider().address, stake: 0n });
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ registered: false, stake: 0n, jobsSlashed: 1 });
  });

  it("refuses a verdict not signed by the assigned mediator", async () => {
    const result = await challenged("impostor");
    const mediator = await withMediator(result.jobId);
    const impostor = f.providers.find((p) => p.address !== mediator.address && p.address !== provider().address)!;
    for (const signer of [impostor, provider(), creator()]) {
      const verdict = await signMediation(signer, f.domain, result.jobId, hashOf("whatever"));
      expect(await revertOf(market().write.resolveChallenge([result.jobId, hashOf("whatever"), verdict]))).toEqual({
        errorName: "InvalidMediatorSignature",
        args: [result.jobId],
      });
    }
    const forOtherJob = await signMediation(mediator, f.domain, jobIdOf("other"), result.resultHash);
    expect((await revertOf(market().write.resolveChallenge([result.jobId, result.resultHash, forOtherJob]))).errorName).toBe("InvalidMediatorSignature");
  });

  it("refuses a verdict before a mediator is drawn, after the deadline, and a second time", async () => {
    const result = await challenged("timing");
    const early = await signMediation(f.providers[1]!, f.domain, result.jobId, result.resultHash);
    expect(await revertOf(market().write.resolveChallenge([result.jobId, result.resultHash, early]))).toEqual({ errorName: "MediatorNotAssigned", args: [result.jobId] });

    const mediator = await withMediator(result.jobId);
    const verdict = await signMediation(mediator, f.domain, result.jobId, result.resultHash);
    const { respondBy } = await market().read.challengeOf([result.jobId]);
    await anvil.testClient.setNextBlockTimestamp({ timestamp: respondBy + 1n });
    await anvil.testClient.mine({ blocks: 1 });
    expect(await revertOf(market().write.resolveChallenge([result.jobId, result.resultHash, verdict]))).toEqual({ errorName: "MediationExpired", args: [result.jobId, respondBy] });

    const other = await challenged("twice");
    const otherMediator = await withMediator(other.jobId);
    const otherVerdict = await signMediation(otherMediator, f.domain, other.jobId, other.resultHash);
    await mined(anvil, market().write.resolveChallenge([other.jobId, other.resultHash, otherVerdict]));
    expect(await revertOf(market().write.resolveChallenge([other.jobId, other.resultHash, otherVerdict]))).toEqual({ errorName: "NotChallenged", args: [other.jobId] });
  });
});

describe("expireChallenge", () => {
  it("voids a challenge no mediator answered in time: the bond goes back and the provider is paid", async () => {
    const result = await challenged("silent");
    const mediator = await withMediator(result.jobId);
    const { respondBy } = await market().read.challengeOf([result.jobId]);
    expect(await revertOf(market().write.expireChallenge([result.jobId]))).toEqual({ errorName: "MediationNotExpired", args: [result.jobId, respondBy] });
    await anvil.testClient.setNextBlockTimestamp({ timestamp: respondBy });
    expect((await revertOf(market().write.expireChallenge([result.jobId]))).errorName).toBe("MediationNotExpired");

    await anvil.testClient.setNextBlockTimestamp({ timestamp: respondBy + 1n });
    const receipt = await mined(anvil, market().write.expireChallenge([result.jobId]));
    expect(await accountOf(creator())).toEqual([parseEther("1") - AMOUNT + BOND, 0n]);
    expect(await accountOf(provider())).toEqual([withoutFee(AMOUNT), 0n]);
    expect(await accountOf(mediator)).toEqual([0n, 0n]);
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ lockedStake: 0n, jobsSettled: 1, jobsChallenged: 1, jobsSlashed: 0 });
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toMatchObject({ outcome: ChallengeOutcome.Voided, mediator: mediator.address, slashed: 0n });
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Settled);
  });

  it("voids a challenge whose mediator was never drawn", async () => {
    const result = await challenged("undrawn");
    await anvil.increaseTime(TIMEOUT + 1n);
    const receipt = await mined(anvil, market().write.expireChallenge([result.jobId]));
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toMatchObject({ outcome: ChallengeOutcome.Voided, mediator: zeroAddress });
    expect(await accountOf(creator())).toEqual([parseEther("1") - AMOUNT + BOND, 0n]);
  });

  it("refuses a job that is not challenged", async () => {
    const result = await reportedJob("plain");
    expect(await revertOf(market().write.expireChallenge([result.jobId]))).toEqual({ errorName: "NotChallenged", args: [result.jobId] });
  });
});
