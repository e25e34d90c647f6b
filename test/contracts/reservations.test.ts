import { parseEther, toHex, type Hex } from "viem";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pondDomain } from "../../protocol/eip712.ts";
import { fundedAccount, localMarketParams, startAnvil, type Anvil } from "../helpers/anvil.ts";
import {
  createMarketFixture,
  eventsIn,
  hashOf,
  JobStatus,
  jobIdOf,
  mined,
  ReleaseReason,
  revertOf,
  signReservation,
  snapshotIsolation,
  type CompactSignature,
  type MarketFixture,
} from "./marketFixture.ts";

let anvil: Anvil;
let f: MarketFixture;
const isolation = snapshotIsolation(() => anvil);
const GRACE = BigInt(localMarketParams.releaseGrace);

beforeAll(async () => {
  anvil = await startAnvil();
  f = await createMarketFixture(anvil, { creators: 2, providers: 1, deposit: parseEther("1") });
  await isolation.capture();
});
beforeEach(() => isolation.restore());
afterAll(() => anvil?.stop());

const relayer = () => f.as(f.relayer);
const inADay = async () => (await f.now()) + 86_400n;

describe("reserveJobs", () => {
  it("reserves maxPrice of each creator's escrow and records the job", async () => {
    const [alice, bob] = [f.creators[0]!, f.creators[1]!];
    const deadline = await inADay();
    const batch = [
      await signReservation(alice, f.domain, { jobId: jobIdOf("a1"), maxPrice: parseEther("0.2"), deadline }),
      await signReservation(bob, f.domain, { jobId: jobIdOf("b1"), maxPrice: parseEther("0.3"), deadline, tolerant: true }),
      await signReservation(alice, f.domain, { jobId: jobIdOf("a2"), maxPrice: parseEther("0.1"), deadline }),
    ];
    const receipt = await mined(anvil, relayer().write.reserveJobs([batch]));

    expect(await relayer().read.accountOf([alice.address])).toEqual([parseEther("1"), parseEther("0.3")]);
    expect(await relayer().read.accountOf([bob.address])).toEqual([parseEther("1"), parseEther("0.3")]);
    expect(await relayer().read.jobOf([jobIdOf("b1")])).toEqual({
      status: JobStatus.Reserved,
      time: deadline,
      creator: bob.address,
      provider: "0x0000000000000000000000000000000000000000",
      amount: parseEther("0.3"),
      tolerant: true,
    });
    expect((await relayer().read.jobOf([jobIdOf("a1")])).tolerant).toBe(false);
    expect(eventsIn(receipt, "JobReserved").map((e) => e.args)).toEqual([
      { jobId: jobIdOf("a1"), creator: alice.address, maxPrice: parseEther("0.2"), deadline },
      { jobId: jobIdOf("b1"), creator: bob.address, maxPrice: parseEther("0.3"), deadline },
      { jobId: jobIdOf("a2"), creator: alice.address, maxPrice: parseEther("0.1"), deadline },
    ]);
  });

  it("accepts an authorization in the very second of its deadline", async () => {
    const deadline = (await f.now()) + 100n;
    const reservation = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("edge"), maxPrice: 1n, deadline });
    await anvil.testClient.setNextBlockTimestamp({ timestamp: deadline });
    await mined(anvil, relayer().write.reserveJobs([[reservation]]));
    expect((await relayer().read.jobOf([jobIdOf("edge")])).status).toBe(JobStatus.Reserved);
  });

  it("refuses a caller other than the relayer", async () => {
    const creator = f.creators[0]!;
    const reservation = await signReservation(creator, f.domain, { jobId: jobIdOf("self"), maxPrice: 1n, deadline: await inADay() });
    expect(await revertOf(f.as(creator).write.reserveJobs([[reservation]]))).toEqual({ errorName: "NotRelayer", args: [creator.address] });
  });

  it("refuses an authorization whose deadline has passed", async () => {
    const deadline = (await f.now()) - 1n;
    const reservation = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("late"), maxPrice: 1n, deadline });
    expect(await revertOf(relayer().write.reserveJobs([[reservation]]))).toEqual({ errorName: "AuthorizationExpired", args: [jobIdOf("late"), deadline] });
  });

  it("refuses a deadline later than a job word can hold", async () => {
    const deadline = 2n ** 40n;
    const reservation = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("far"), maxPrice: 1n, deadline });
    expect(await revertOf(relayer().write.reserveJobs([[reservation]]))).toEqual({ errorName: "DeadlineOutOfRange", args: [jobIdOf("far"), deadline] });
  });

  it("refuses a job id used before, whether in an earlier batch or the same one", async () => {
    const creator = f.creators[0]!;
    const deadline = await inADay();
    const first = await signReservation(creator, f.domain, { jobId: jobIdOf("once"), maxPrice: 1n, deadline });
    await mined(anvil, relayer().write.reserveJobs([[first]]));
    expect(await revertOf(relayer().write.reserveJobs([[first]]))).toEqual({ errorName: "JobIdUsed", args: [jobIdOf("once")] });

    const twin = await signReservation(creator, f.domain, { jobId: jobIdOf("twin"), maxPrice: 1n, deadline });
    expect((await revertOf(relayer().write.reserveJobs([[twin, twin]]))).errorName).toBe("JobIdUsed");
    expect((await relayer().read.jobOf([jobIdOf("twin")])).status).toBe(JobStatus.None);
  });

  it("refuses a job id whose job was released, so a signed authorization cannot be replayed", async () => {
    const [reservation] = await f.reserve(f.creators[0]!, [{ jobId: jobIdOf("replay") }]);
    await mined(anvil, relayer().write.releaseJobs([[jobIdOf("replay")]]));
    expect((await revertOf(relayer().write.reserveJobs([[reservation!]]))).errorName).toBe("JobIdUsed");
  });

  it("refuses an authorization signed by someone other than the creator named", async () => {
    const [alice, bob] = [f.creators[0]!, f.creators[1]!];
    const signedByBob = await signReservation(bob, f.domain, { jobId: jobIdOf("forged"), maxPrice: 1n, deadline: await inADay() });
    const claimingAlice = { ...signedByBob, creator: alice.address };
    expect(await revertOf(relayer().write.reserveJobs([[claimingAlice]]))).toEqual({ errorName: "InvalidCreatorSignature", args: [jobIdOf("forged")] });
  });

  it("refuses terms other than the ones the creator signed", async () => {
    const signed = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("raised"), maxPrice: 1n, deadline: await inADay() });
    for (const altered of [{ ...signed, maxPrice: 2n }, { ...signed, specHash: hashOf("another spec") }, { ...signed, deadline: signed.deadline + 1n }]) {
      expect((await revertOf(relayer().write.reserveJobs([[altered]]))).errorName).toBe("InvalidCreatorSignature");
    }
  });

  it("refuses a tolerant flag the creator did not sign, either way: how a challenge is judged is the creator's word", async () => {
    const exact = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("made-tolerant"), maxPrice: 1n, deadline: await inADay() });
    expect(await revertOf(relayer().write.reserveJobs([[{ ...exact, tolerant: true }]]))).toEqual({ errorName: "InvalidCreatorSignature", args: [jobIdOf("made-tolerant")] });
    const tolerant = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("made-exact"), maxPrice: 1n, deadline: await inADay(), tolerant: true });
    expect(await revertOf(relayer().write.reserveJobs([[{ ...tolerant, tolerant: false }]]))).toEqual({ errorName: "InvalidCreatorSignature", args: [jobIdOf("made-exact")] });
    await mined(anvil, relayer().write.reserveJobs([[exact, tolerant]]));
    expect((await relayer().read.jobOf([jobIdOf("made-tolerant")])).tolerant).toBe(false);
    expect((await relayer().read.jobOf([jobIdOf("made-exact")])).tolerant).toBe(true);
  });

  it("refuses a signature made for another chain", async () => {
    const otherChain = pondDomain(1, f.address);
    const reservation = await signReservation(f.creators[0]!, otherChain, { jobId: jobIdOf("chain"), maxPrice: 1n, deadline: await inADay() });
    expect((await revertOf(relayer().write.reserveJobs([[reservation]]))).errorName).toBe("InvalidCreatorSignature");
  });

  it("refuses a signature made for another market contract", async () => {
    const otherMarket = pondDomain(anvil.chainId, "0x000000000000000000000000000000000000dEaD");
    const reservation = await signReservation(f.creators[0]!, otherMarket, { jobId: jobIdOf("contract"), maxPrice: 1n, deadline: await inADay() });
    expect((await revertOf(relayer().write.reserveJobs([[reservation]]))).errorName).toBe("InvalidCreatorSignature");
  });

  it("refuses the malleable twin of a valid signature (high s)", async () => {
    const reservation = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("malleable"), maxPrice: 1n, deadline: await inADay() });
    const twin = { ...reservation, creatorSignature: malleableTwin(reservation.creatorSignature) };
    expect((await revertOf(relayer().write.reserveJobs([[twin]]))).errorName).toBe("InvalidCreatorSignature");
    await mined(anvil, relayer().write.reserveJobs([[reservation]]));
  });

  it("refuses a creator that never opened an escrow account", async () => {
    const stranger = await fundedAccount(anvil, "stranger");
    const reservation = await signReservation(stranger, f.domain, { jobId: jobIdOf("no-account"), maxPrice: 0n, deadline: await inADay() });
    expect(await revertOf(relayer().write.reserveJobs([[reservation]]))).toEqual({ errorName: "NoEscrowAccount", args: [jobIdOf("no-account"), stranger.address] });
  });

  it("refuses a job the creator's free balance cannot cover, counting the batch's earlier jobs, and reverts the whole batch", async () => {
    const creator = f.creators[0]!;
    const deadline = await inADay();
    const first = await signReservation(creator, f.domain, { jobId: jobIdOf("fits"), maxPrice: parseEther("0.6"), deadline });
    const second = await signReservation(creator, f.domain, { jobId: jobIdOf("too-much"), maxPrice: parseEther("0.5"), deadline });
    expect(await revertOf(relayer().write.reserveJobs([[first, second]]))).toEqual({
      errorName: "InsufficientEscrow",
      args: [jobIdOf("too-much"), creator.address, parseEther("0.4"), parseEther("0.5")],
    });
    expect((await relayer().read.jobOf([jobIdOf("fits")])).status).toBe(JobStatus.None);
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1"), 0n]);
  });

  it("is closed while the market is paused", async () => {
    await mined(anvil, f.as(f.owner).write.pause());
    const reservation = await signReservation(f.creators[0]!, f.domain, { jobId: jobIdOf("paused"), maxPrice: 1n, deadline: await inADay() });
    expect((await revertOf(relayer().write.reserveJobs([[reservation]]))).errorName).toBe("EnforcedPause");
  });
});

describe("releaseJobs", () => {
  it("lets the relayer release a job without a result at any time", async () => {
    const creator = f.creators[0]!;
    await f.reserve(creator, [{ jobId: jobIdOf("cancel"), maxPrice: parseEther("0.25") }]);
    const receipt = await mined(anvil, relayer().write.releaseJobs([[jobIdOf("cancel")]]));
    expect(eventsIn(receipt, "JobReleased")[0]!.args).toEqual({
      jobId: jobIdOf("cancel"),
      creator: creator.address,
      amount: parseEther("0.25"),
      reason: ReleaseReason.Canceled,
    });
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1"), 0n]);
    expect((await relayer().read.jobOf([jobIdOf("cancel")])).status).toBe(JobStatus.Released);
  });

  it("refuses anyone else until the deadline plus the grace period has passed, then lets anyone release", async () => {
    const creator = f.creators[1]!;
    const [reservation] = await f.reserve(creator, [{ jobId: jobIdOf("expire") }]);
    const openAt = reservation!.deadline + GRACE;
    const stranger = await fundedAccount(anvil, "stranger");
    expect(await revertOf(f.as(stranger).write.releaseJobs([[jobIdOf("expire")]]))).toEqual({
      errorName: "ReleaseNotYetAllowed",
      args: [jobIdOf("expire"), openAt],
    });

    await anvil.testClient.setNextBlockTimestamp({ timestamp: openAt });
    expect((await revertOf(f.as(stranger).write.releaseJobs([[jobIdOf("expire")]]))).errorName).toBe("ReleaseNotYetAllowed");

    await anvil.testClient.setNextBlockTimestamp({ timestamp: openAt + 1n });
    const receipt = await mined(anvil, f.as(stranger).write.releaseJobs([[jobIdOf("expire")]]));
    expect(eventsIn(receipt, "JobReleased")[0]!.args.reason).toBe(ReleaseReason.Expired);
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1"), 0n]);
  });

  it("skips a job that already has a result, leaving its reservation alone", async () => {
    const creator = f.creators[0]!;
    await f.reserve(creator, [{ jobId: jobIdOf("done"), maxPrice: parseEther("0.2") }]);
    await f.report(f.providers[0]!, [{ jobId: jobIdOf("done"), resultHash: hashOf("out"), amount: parseEther("0.2") }]);
    const receipt = await mined(anvil, relayer().write.releaseJobs([[jobIdOf("done")]]));
    expect(eventsIn(receipt, "JobReleased")).toEqual([]);
    expect((await relayer().read.jobOf([jobIdOf("done")])).status).toBe(JobStatus.Reported);
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1"), parseEther("0.2")]);
  });

  it("is a no-op for a job already released, so the reservation is never returned twice", async () => {
    const creator = f.creators[0]!;
    await f.reserve(creator, [{ jobId: jobIdOf("j1"), maxPrice: parseEther("0.2") }, { jobId: jobIdOf("j2"), maxPrice: parseEther("0.3") }]);
    const receipt = await mined(anvil, relayer().write.releaseJobs([[jobIdOf("j1"), jobIdOf("j1")]]));
    expect(eventsIn(receipt, "JobReleased")).toHaveLength(1);
    const again = await mined(anvil, relayer().write.releaseJobs([[jobIdOf("j1")]]));
    expect(eventsIn(again, "JobReleased")).toEqual([]);
    expect(await relayer().read.accountOf([creator.address])).toEqual([parseEther("1"), parseEther("0.3")]);
  });

  it("refuses a job id that was never reserved", async () => {
    expect(await revertOf(relayer().write.releaseJobs([[jobIdOf("ghost")]]))).toEqual({ errorName: "UnknownJob", args: [jobIdOf("ghost")] });
  });

  it("keeps working while the market is paused", async () => {
    await f.reserve(f.creators[0]!, [{ jobId: jobIdOf("paused-release") }]);
    await mined(anvil, f.as(f.owner).write.pause());
    await mined(anvil, relayer().write.releaseJobs([[jobIdOf("paused-release")]]));
    expect((await relayer().read.jobOf([jobIdOf("paused-release")])).status).toBe(JobStatus.Released);
  });
});

/** The other valid-looking signature of the same message: s → n - s with the parity flipped (EIP-2 forbids it). */
function malleableTwin(signature: CompactSignature): CompactSignature {
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const packed = BigInt(signature.yParityAndS);
  const parity = packed >> 255n;
  const s = packed & ((1n << 255n) - 1n);
  const twin: Hex = toHex(((1n - parity) << 255n) | (n - s), { size: 32 });
  return { r: signature.r, yParityAndS: twin };
}
