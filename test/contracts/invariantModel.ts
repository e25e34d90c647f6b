// The ledger model the market invariant test checks the contract against:
// the operations a random walk may take, and what the market should hold.
import fc from "fast-check";
import { parseEther, type Address, type Hex, type LocalAccount } from "viem";
import { localMarketParams } from "../helpers/anvil.ts";
import { JobStatus, type CompactSignature } from "./marketFixture.ts";

export const P = localMarketParams;
export const FEE_BPS = 100n;
export const GAS = 3_000_000n;
export const ETH = parseEther("1");

export type Op =
  | { kind: "deposit"; who: number; milli: number }
  | { kind: "withdraw"; who: number; percent: number; overdraw: boolean }
  | { kind: "reserve"; who: number; jobs: Array<{ milli: number; deadlineMinutes: number; tolerant: boolean }> }
  | { kind: "submit"; picks: number[]; provider: number; percent: number; byRelayer: boolean }
  | { kind: "settle"; picks: number[] }
  | { kind: "release"; picks: number[]; byRelayer: boolean }
  | { kind: "challenge"; pick: number }
  | { kind: "assign"; pick: number }
  /** Answered by the job's own path (resolveChallenge, or judgeChallenge for a tolerant job); now and then first by the other, which must refuse. */
  | { kind: "resolve"; pick: number; match: boolean; wrongPath: boolean }
  | { kind: "expire"; pick: number }
  | { kind: "register"; provider: number; milli: number }
  | { kind: "addStake"; provider: number; milli: number }
  | { kind: "unbond"; provider: number; percent: number }
  | { kind: "completeUnbond"; provider: number }
  | { kind: "pause"; on: boolean }
  | { kind: "wait"; seconds: number }
  | { kind: "mine"; blocks: number };

export const CREATORS = 3;
export const PROVIDERS = 4;
const pick = fc.nat({ max: 1_000 });
/** Mostly true: the relayer posts most results and releases, strangers sometimes try. */
const usually = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
const rarely = usually.map((b) => !b);
export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deposit" as const), who: fc.nat({ max: CREATORS - 1 }), milli: fc.integer({ min: 1, max: 3_000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), who: fc.nat({ max: CREATORS + PROVIDERS }), percent: fc.integer({ min: 1, max: 100 }), overdraw: rarely }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("reserve" as const),
      who: fc.nat({ max: CREATORS - 1 }),
      jobs: fc.array(fc.record({ milli: fc.integer({ min: 0, max: 800 }), deadlineMinutes: fc.integer({ min: 1, max: 240 }), tolerant: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("submit" as const),
      picks: fc.array(pick, { minLength: 1, maxLength: 3 }),
      provider: fc.nat({ max: PROVIDERS - 1 }),
      percent: fc.integer({ min: 0, max: 100 }),
      byRelayer: usually,
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("settle" as const), picks: fc.array(pick, { minLength: 1, maxLength: 4 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("release" as const), picks: fc.array(pick, { minLength: 1, maxLength: 3 }), byRelayer: usually }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("challenge" as const), pick }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("assign" as const), pick }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("resolve" as const), pick, match: fc.boolean(), wrongPath: rarely }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("expire" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("register" as const), provider: fc.nat({ max: PROVIDERS - 1 }), milli: fc.integer({ min: 0, max: 2_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("addStake" as const), provider: fc.nat({ max: PROVIDERS - 1 }), milli: fc.integer({ min: 0, max: 1_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unbond" as const), provider: fc.nat({ max: PROVIDERS - 1 }), percent: fc.integer({ min: 1, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("completeUnbond" as const), provider: fc.nat({ max: PROVIDERS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pause" as const), on: rarely }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      seconds: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 600, max: 2 * 3_600 }), fc.integer({ min: 86_000, max: 8 * 86_400 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("mine" as const), blocks: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constant(300)) }) },
);

export interface JobModel {
  id: Hex;
  creator: LocalAccount;
  status: number;
  maxPrice: bigint;
  deadline: bigint;
  /** Signed in the authorization: its challenge is answered with a Verdict (judgeChallenge). */
  tolerant: boolean;
  amount: bigint;
  provider?: LocalAccount;
  resultHash?: Hex;
  signature?: CompactSignature;
  challengeEnd: bigint;
  respondBy: bigint;
  seedBlock: bigint;
  mediator?: LocalAccount;
  bond: bigint;
  locked: bigint;
}

export interface ProviderModel {
  stake: bigint;
  unbonding: bigint;
  locked: bigint;
  readyAt: bigint;
  registered: boolean;
}

/** What the market should hold, kept by applying each operation's rules in plain TypeScript. */
export class Ledger {
  balance = new Map<Address, bigint>();
  reserved = new Map<Address, bigint>();
  providers = new Map<Address, ProviderModel>();
  jobs: JobModel[] = [];
  paused = false;
  /** Timestamp of the latest block. */
  time = 0n;
  jobCounter = 0;

  bal(a: Address) {
    return this.balance.get(a) ?? 0n;
  }
  res(a: Address) {
    return this.reserved.get(a) ?? 0n;
  }
  available(a: Address) {
    return this.bal(a) - this.res(a);
  }
  credit(a: Address, v: bigint) {
    this.balance.set(a, this.bal(a) + v);
  }
  reserve(a: Address, v: bigint) {
    this.reserved.set(a, this.res(a) + v);
  }
  provider(a: Address): ProviderModel {
    let p = this.providers.get(a);
    if (!p) {
      p = { stake: 0n, unbonding: 0n, locked: 0n, readyAt: 0n, registered: false };
      this.providers.set(a, p);
    }
    return p;
  }
  dropIfBelowMin(p: ProviderModel) {
    if (p.registered && p.stake < P.minStake) p.registered = false;
  }
  /** A challenge locks min(free stake, slashMultiplier × amount), reclaiming unbonding stake first if need be. */
  lock(job: JobModel): bigint {
    const p = this.provider(job.provider!.address);
    const wanted = BigInt(P.slashMultiplier) * job.amount;
    let free = p.stake - p.locked;
    if (wanted > free && p.unbonding > 0n) {
      const reclaimed = wanted - free < p.unbonding ? wanted - free : p.unbonding;
      p.unbonding -= reclaimed;
      p.stake += reclaimed;
      free += reclaimed;
    }
    const locked = wanted < free ? wanted : free;
    p.locked += locked;
    return locked;
  }
  /** A challenge the mediator upheld (either path): the bond pays the mediator and the provider, the job is paid. */
  uphold(job: JobModel, treasury: Address) {
    this.provider(job.provider!.address).locked -= job.locked;
    const reward = (job.bond * BigInt(P.mediatorBondShareBps)) / 10_000n;
    this.credit(job.mediator!.address, reward);
    this.credit(job.provider!.address, job.bond - reward);
    this.pay(job, treasury);
  }
  /** A challenge the mediator rejected (either path): the lock is slashed, the creator refunded and compensated. */
  reject(job: JobModel) {
    const p = this.provider(job.provider!.address);
    p.locked -= job.locked;
    p.stake -= job.locked;
    this.dropIfBelowMin(p);
    this.reserve(job.creator.address, -job.amount);
    const share = (job.locked * BigInt(P.mediatorSlashShareBps)) / 10_000n;
    this.credit(job.mediator!.address, share);
    this.credit(job.creator.address, job.bond + job.locked - share);
    job.status = JobStatus.Refunded;
  }
  /** Settlement's money movement (also a challenge upheld or voided). */
  pay(job: JobModel, treasury: Address) {
    const fee = (job.amount * FEE_BPS) / 10_000n;
    this.credit(job.creator.address, -job.amount);
    this.reserve(job.creator.address, -job.amount);
    this.credit(job.provider!.address, job.amount - fee);
    this.credit(treasury, fee);
    job.status = JobStatus.Settled;
  }
}
