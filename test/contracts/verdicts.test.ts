// Tolerant jobs (protocol/verification.ts): the creator's JobAuthorization says a
// challenge is judged by the mediator's signed Verdict, not by comparing result
// hashes. The flag rides in the job word from reservation to challenge; the
// verdict path (judgeChallenge) moves money exactly as resolveChallenge does;
// each path refuses the other kind of job. challenges.test.ts covers the rest
// of the game (the draw, expiry) for exact jobs.
import { parseEther, type Address, type Hex, type LocalAccount } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { localMarketParams, startAnvil, type Anvil } from "../helpers/anvil.ts";
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
  signVerdict,
  snapshotIsolation,
  type MarketFixture,
  type ResultSubmission,
} from "./marketFixture.ts";
import { challengeSteps } from "./challengeSteps.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);
const BOND = localMarketParams.challengeBond;
const SLASH_MULTIPLIER = BigInt(localMarketParams.slashMultiplier);
const FEE_BPS = 100n;
const STAKE = parseEther("2");
const DEPOSIT = parseEther("1");
const AMOUNT = parseEther("0.1");

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 2, providers: 4, deposit: DEPOSIT, stake: STAKE, protocolFeeBps: Number(FEE_BPS) });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

const market = () => f.as(f.owner);
const creator = () => f.creators[0]!;
const provider = () => f.providers[0]!;
const accountOf = (account: { address: Address }) => market().read.accountOf([account.address]);
const withoutFee = (amount: bigint) => amount - (amount * FEE_BPS) / 10_000n;

const steps = challengeSteps(() => ({ anvil, f }));
const { withMediator } = steps;
/** A tolerant job (unless said otherwise), reported and challenged. */
const challenged = (label: string, tolerant = true) => steps.challenged(label, { tolerant });

/** The mediator's verdict on the provider's claimed result, signed and ready for judgeChallenge. */
async function verdictOf(mediator: LocalAccount, result: ResultSubmission, rerunHash: Hex, upheld: boolean) {
  const signature = await signVerdict(mediator, f.domain, { jobId: result.jobId, resultHash: result.resultHash, rerunHash, upheld });
  return [result.jobId, rerunHash, upheld, signature] as const;
}

describe("the tolerant flag", () => {
  it("rides in the job word from reservation through report and challenge, and is dropped once the job ends", async () => {
    const jobId = jobIdOf("carried");
    await f.reserve(creator(), [{ jobId, maxPrice: AMOUNT, tolerant: true }]);
    expect(await market().read.jobOf([jobId])).toMatchObject({ status: JobStatus.Reserved, amount: AMOUNT, creator: creator().address, tolerant: true });

    const [result] = await f.report(provider(), [{ jobId, resultHash: hashOf("out:carried"), amount: AMOUNT - 1n }]);
    expect(await market().read.jobOf([jobId])).toMatchObject({ status: JobStatus.Reported, amount: AMOUNT - 1n, creator: creator().address, provider: provider().address, tolerant: true });

    await mined(anvil, f.as(creator()).write.challenge([jobId, result!.resultHash, result!.providerSignature], { value: BOND }));
    expect(await market().read.jobOf([jobId])).toMatchObject({ status: JobStatus.Challenged, creator: creator().address, provider: provider().address, tolerant: true });
    expect(await market().read.challengeOf([jobId])).toMatchObject({ resultHash: result!.resultHash, tolerant: true });

    const mediator = await withMediator(jobId);
    await mined(anvil, market().write.judgeChallenge(await verdictOf(mediator, result!, hashOf("rerun"), true)));
    expect(await market().read.jobOf([jobId])).toMatchObject({ status: JobStatus.Settled, tolerant: false });
  });

  it("stays off for an exact job at every step", async () => {
    const result = await challenged("plain", false);
    expect((await market().read.jobOf([result.jobId])).tolerant).toBe(false);
    expect((await market().read.challengeOf([result.jobId])).tolerant).toBe(false);
  });
});

describe("judgeChallenge", () => {
  it("upholds a result the mediator judged in agreement: the provider is paid and earns the bond less the mediator's share; nobody is slashed", async () => {
    const result = await challenged("agrees");
    const mediator = await withMediator(result.jobId);
    const rerunHash = hashOf("a re-run that differs in its last bits");
    const receipt = await mined(anvil, f.as(f.creators[1]!).write.judgeChallenge(await verdictOf(mediator, result, rerunHash, true)));

    const mediatorReward = (BOND * BigInt(localMarketParams.mediatorBondShareBps)) / 10_000n;
    const fee = AMOUNT - withoutFee(AMOUNT);
    expect(await accountOf(creator())).toEqual([DEPOSIT - AMOUNT, 0n]);
    expect(await accountOf(provider())).toEqual([withoutFee(AMOUNT) + BOND - mediatorReward, 0n]);
    expect(await accountOf(mediator)).toEqual([mediatorReward, 0n]);
    expect(await accountOf(f.treasury)).toEqual([fee, 0n]);
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ stake: STAKE, lockedStake: 0n, jobsSettled: 1, jobsChallenged: 1, jobsSlashed: 0 });
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toEqual({
      jobId: result.jobId,
      provider: provider().address,
      mediator: mediator.address,
      outcome: ChallengeOutcome.ResultUpheld,
      mediatorResultHash: rerunHash,
      slashed: 0n,
    });
    expect(eventsIn(receipt, "Credited").map((e) => [e.args.account, e.args.amount, e.args.reason])).toEqual([
      [mediator.address, mediatorReward, CreditReason.MediatorReward],
      [provider().address, BOND - mediatorReward, CreditReason.BondToProvider],
      [f.treasury.address, fee, CreditReason.ProtocolFee],
    ]);
    expect(await market().read.challengeOf([result.jobId])).toMatchObject({ creator: "0x0000000000000000000000000000000000000000", bond: 0n, tolerant: false });
  });

  it("rejects a result the mediator judged out of tolerance: the provider is slashed, the creator refunded, the mediator paid its share", async () => {
    const result = await challenged("disagrees");
    const mediator = await withMediator(result.jobId);
    const rerunHash = hashOf("the real output");
    const receipt = await mined(anvil, market().write.judgeChallenge(await verdictOf(mediator, result, rerunHash, false)));

    const slashed = SLASH_MULTIPLIER * AMOUNT;
    const mediatorShare = (slashed * BigInt(localMarketParams.mediatorSlashShareBps)) / 10_000n;
    expect(await accountOf(creator())).toEqual([DEPOSIT + BOND + slashed - mediatorShare, 0n]);
    expect(await accountOf(mediator)).toEqual([mediatorShare, 0n]);
    expect(await accountOf(provider())).toEqual([0n, 0n]);
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ stake: STAKE - slashed, lockedStake: 0n, jobsSettled: 0, jobsSlashed: 1 });
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Refunded);
    expect(eventsIn(receipt, "JobReleased")[0]!.args).toEqual({ jobId: result.jobId, creator: creator().address, amount: AMOUNT, reason: ReleaseReason.ResultRejected });
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toMatchObject({ outcome: ChallengeOutcome.ResultRejected, slashed, mediatorResultHash: rerunHash });
    expect(eventsIn(receipt, "Credited").map((e) => [e.args.account, e.args.amount, e.args.reason])).toEqual([
      [mediator.address, mediatorShare, CreditReason.MediatorReward],
      [creator().address, BOND, CreditReason.BondReturned],
      [creator().address, slashed - mediatorShare, CreditReason.SlashCompensation],
    ]);
  });

  it("refuses a verdict signed over another result hash, another re-run, the other outcome, another job, or by anyone but the drawn mediator", async () => {
    const result = await challenged("forged");
    const mediator = await withMediator(result.jobId);
    const rerunHash = hashOf("rerun");
    const refused = { errorName: "InvalidMediatorSignature", args: [result.jobId] };
    const overOtherResult = await signVerdict(mediator, f.domain, { jobId: result.jobId, resultHash: hashOf("not the provider's"), rerunHash, upheld: false });
    expect(await revertOf(market().write.judgeChallenge([result.jobId, rerunHash, false, overOtherResult]))).toEqual(refused);
    const [, , , rejecting] = await verdictOf(mediator, result, rerunHash, false);
    expect(await revertOf(market().write.judgeChallenge([result.jobId, rerunHash, true, rejecting]))).toEqual(refused);
    expect(await revertOf(market().write.judgeChallenge([result.jobId, hashOf("another rerun"), false, rejecting]))).toEqual(refused);
    const forOtherJob = await signVerdict(mediator, f.domain, { jobId: jobIdOf("other"), resultHash: result.resultHash, rerunHash, upheld: false });
    expect(await revertOf(market().write.judgeChallenge([result.jobId, rerunHash, false, forOtherJob]))).toEqual(refused);
    const impostor = f.providers.find((p) => p.address !== mediator.address && p.address !== provider().address)!;
    for (const signer of [impostor, provider(), creator()]) {
      expect(await revertOf(market().write.judgeChallenge(await verdictOf(signer, result, rerunHash, false)))).toEqual(refused);
    }
    // A Mediation (the exact path's message) by the right mediator is not a verdict either.
    const mediation = await signMediation(mediator, f.domain, result.jobId, rerunHash);
    expect(await revertOf(market().write.judgeChallenge([result.jobId, rerunHash, false, mediation]))).toEqual(refused);
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Challenged);
  });

  it("refuses a verdict before a mediator is drawn, after the deadline, a second time, and for a job not challenged", async () => {
    const result = await challenged("timing");
    const early = await verdictOf(f.providers[1]!, result, hashOf("rerun"), true);
    expect(await revertOf(market().write.judgeChallenge(early))).toEqual({ errorName: "MediatorNotAssigned", args: [result.jobId] });

    const mediator = await withMediator(result.jobId);
    const verdict = await verdictOf(mediator, result, hashOf("rerun"), true);
    const { respondBy } = await market().read.challengeOf([result.jobId]);
    await anvil.testClient.setNextBlockTimestamp({ timestamp: respondBy + 1n });
    await anvil.testClient.mine({ blocks: 1 });
    expect(await revertOf(market().write.judgeChallenge(verdict))).toEqual({ errorName: "MediationExpired", args: [result.jobId, respondBy] });

    const other = await challenged("twice");
    const otherVerdict = await verdictOf(await withMediator(other.jobId), other, hashOf("rerun"), true);
    await mined(anvil, market().write.judgeChallenge(otherVerdict));
    expect(await revertOf(market().write.judgeChallenge(otherVerdict))).toEqual({ errorName: "NotChallenged", args: [other.jobId] });

    const calm = await steps.reportedJob("calm", { tolerant: true });
    expect(await revertOf(market().write.judgeChallenge(await verdictOf(f.providers[1]!, calm, hashOf("rerun"), true)))).toEqual({ errorName: "NotChallenged", args: [calm.jobId] });
  });
});

describe("each path refuses the other kind of job", () => {
  it("judgeChallenge refuses an exact job, whose challenge is settled by result hashes", async () => {
    const result = await challenged("exact", false);
    const mediator = await withMediator(result.jobId);
    expect(await revertOf(market().write.judgeChallenge(await verdictOf(mediator, result, hashOf("rerun"), false)))).toEqual({ errorName: "JobIsExact", args: [result.jobId] });
    // Its own path still works.
    const mediation = await signMediation(mediator, f.domain, result.jobId, result.resultHash);
    await mined(anvil, market().write.resolveChallenge([result.jobId, result.resultHash, mediation]));
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Settled);
  });

  it("resolveChallenge refuses a tolerant job, so a differing re-run hash alone cannot slash its provider", async () => {
    const result = await challenged("tolerant");
    const mediator = await withMediator(result.jobId);
    const mediation = await signMediation(mediator, f.domain, result.jobId, hashOf("jittered output"));
    expect(await revertOf(market().write.resolveChallenge([result.jobId, hashOf("jittered output"), mediation]))).toEqual({ errorName: "JobIsTolerant", args: [result.jobId] });
    expect(await market().read.providerInfo([provider().address])).toMatchObject({ stake: STAKE, jobsSlashed: 0 });
    expect((await market().read.jobOf([result.jobId])).status).toBe(JobStatus.Challenged);
  });

  it("expireChallenge voids an unanswered tolerant challenge as it does an exact one", async () => {
    const result = await challenged("silent");
    await withMediator(result.jobId);
    const { respondBy } = await market().read.challengeOf([result.jobId]);
    await anvil.testClient.setNextBlockTimestamp({ timestamp: respondBy + 1n });
    const receipt = await mined(anvil, market().write.expireChallenge([result.jobId]));
    expect(eventsIn(receipt, "ChallengeResolved")[0]!.args).toMatchObject({ outcome: ChallengeOutcome.Voided, slashed: 0n });
    expect(await accountOf(creator())).toEqual([DEPOSIT - AMOUNT + BOND, 0n]);
    expect(await accountOf(provider())).toEqual([withoutFee(AMOUNT), 0n]);
  });
});
