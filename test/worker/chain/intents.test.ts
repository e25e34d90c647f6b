import { describe, expect, it } from "vitest";
import { decodeFunctionData, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { pondMarketAbi } from "../../../contracts/generated/pondMarket.ts";
import { batchCalldata, dependsOn, hopelessReason, revertVerdict, type Intent } from "../../../worker/chain/intents.ts";
import { malleableTwin } from "../../helpers/signatures.ts";
import { chainIntentsFor } from "../../../worker/chain/settlementHooks.ts";
import { emptyTouched, touch } from "../../../worker/chain/eventKeys.ts";
import { settlementFor } from "../../../worker/chain/onChainStatus.ts";
import type { JobRow } from "../../../worker/jobs/serialize.ts";

const jobId = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

describe("batchCalldata", () => {
  it("encodes a batch of reservations with compact signatures", async () => {
    const creator = privateKeyToAccount(generatePrivateKey());
    const signature = await creator.signMessage({ message: "x" });
    const intents: Intent[] = [1, 2].map((n) => ({
      kind: "reserve",
      jobId: `job_${n}`,
      chainJobId: jobId(n),
      payload: { creator: creator.address, specHash: jobId(99), maxPriceWei: "1000", deadline: 1_900_000_000, tolerant: n === 2, signature },
    }));
    const decoded = decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("reserve", intents) });
    expect(decoded.functionName).toBe("reserveJobs");
    const [reservations] = decoded.args as unknown as [Array<{ jobId: Hex; maxPrice: bigint; tolerant: boolean; creatorSignature: { r: Hex; yParityAndS: Hex } }>];
    expect(reservations.map((r) => r.jobId)).toEqual([jobId(1), jobId(2)]);
    expect(reservations.map((r) => r.tolerant)).toEqual([false, true]);
    expect(reservations[0]!.maxPrice).toBe(1000n);
    expect(reservations[0]!.creatorSignature.r).toBe(signature.slice(0, 66));
  });

  it("encodes settlements and releases as bare job ids", () => {
    const intents: Intent[] = [{ kind: "settle", jobId: "job_1", chainJobId: jobId(1), payload: {} }];
    expect(decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("settle", intents) })).toMatchObject({ functionName: "settleJobs", args: [[jobId(1)]] });
    expect(decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("release", intents) })).toMatchObject({ functionName: "releaseJobs", args: [[jobId(1)]] });
  });

  it("encodes the single-job calls of the challenge game, one job each", () => {
    const resolve: Intent = { kind: "resolve", jobId: "job_1", chainJobId: jobId(1), payload: { resultHash: jobId(5), signature: `0x${"33".repeat(64)}1b` } };
    expect(decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("resolve", [resolve]) })).toMatchObject({ functionName: "resolveChallenge", args: [jobId(1), jobId(5), `0x${"33".repeat(64)}1b`] });
    const judge: Intent = { kind: "judge", jobId: "job_1", chainJobId: jobId(1), payload: { rerunHash: jobId(6), upheld: false, signature: `0x${"33".repeat(64)}1c` } };
    expect(decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("judge", [judge]) })).toMatchObject({ functionName: "judgeChallenge", args: [jobId(1), jobId(6), false, `0x${"33".repeat(64)}1c`] });
    expect(() => batchCalldata("judge", [judge, judge])).toThrow(/one job/);
    const assign: Intent = { kind: "assign", jobId: "job_1", chainJobId: jobId(1), payload: {} };
    expect(decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("assign", [assign]) })).toMatchObject({ functionName: "assignMediator" });
    expect(() => batchCalldata("assign", [assign, assign])).toThrow(/one job/);
  });

  it("orders work: results and releases after the reservation, settlement after the result, a verdict after the draw", () => {
    expect(dependsOn).toEqual({ reserve: undefined, result: "reserve", release: "reserve", settle: "result", assign: undefined, resolve: "assign", judge: "assign", expire: undefined });
  });
});

describe("signatures in calldata", () => {
  const reserve = (signature: Hex, deadline = 1_900_000_000): Intent => ({
    kind: "reserve",
    jobId: "job_1",
    chainJobId: jobId(1),
    payload: { creator: `0x${"c1".repeat(20)}`, specHash: jobId(99), maxPriceWei: "1000", deadline, tolerant: false, signature },
  });

  it("puts a high-s signature on chain in its canonical form, for reservations and verdicts alike", async () => {
    const signature = await privateKeyToAccount(generatePrivateKey()).signMessage({ message: "x" });
    expect(batchCalldata("reserve", [reserve(malleableTwin(signature))])).toBe(batchCalldata("reserve", [reserve(signature)]));
    const resolve = (sig: Hex): Intent => ({ kind: "resolve", jobId: "job_1", chainJobId: jobId(1), payload: { resultHash: jobId(5), signature: sig } });
    const decoded = decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("resolve", [resolve(malleableTwin(signature))]) });
    expect(decoded.args?.[2]).toBe(signature.toLowerCase());
    const judge = (sig: Hex): Intent => ({ kind: "judge", jobId: "job_1", chainJobId: jobId(1), payload: { rerunHash: jobId(6), upheld: true, signature: sig } });
    expect(decodeFunctionData({ abi: pondMarketAbi, data: batchCalldata("judge", [judge(malleableTwin(signature))]) }).args?.[3]).toBe(signature.toLowerCase());
    expect(hopelessReason(judge(`${signature.slice(0, 130)}25` as Hex), 1_800_000_000)).toMatch(/cannot be encoded for the contract: .*its v is 37/);
  });

  it("says which intents can never go, whatever their batch: no canonical form, or an authorization that ran out", async () => {
    const signature = await privateKeyToAccount(generatePrivateKey()).signMessage({ message: "x" });
    expect(hopelessReason(reserve(signature), 1_800_000_000)).toBeUndefined();
    expect(hopelessReason(reserve(`${signature.slice(0, 130)}25` as Hex), 1_800_000_000)).toMatch(/cannot be encoded for the contract: .*its v is 37/);
    expect(hopelessReason(reserve(signature, 1_800_000_000), 1_800_000_001)).toMatch(/deadline \(1800000000\) passed/);
  });
});

describe("revertVerdict", () => {
  it("waits on reverts that mean not yet, and takes a mediator already drawn as done", () => {
    expect(revertVerdict("settle", "ChallengeWindowOpen")).toBe("wait");
    expect(revertVerdict("assign", "SeedBlockNotMined")).toBe("wait");
    expect(revertVerdict("assign", "MediatorAlreadyAssigned")).toBe("done");
  });

  it("asks the chain before taking a used job id or a missing challenge for done", () => {
    // Our own reservation, mined under a hash we never saw, or someone else's: only jobOf tells.
    expect(revertVerdict("reserve", "JobIdUsed")).toBe("ask-chain");
    // An early, bogus verdict reverts NotChallenged too: it must not count as the challenge resolved.
    for (const kind of ["assign", "resolve", "judge", "expire"] as const) expect(revertVerdict(kind, "NotChallenged")).toBe("ask-chain");
  });

  it("fails what the contract refuses for good", () => {
    expect(revertVerdict("reserve", "InsufficientEscrow")).toBe("fail");
    expect(revertVerdict("resolve", "InvalidMediatorSignature")).toBe("fail");
    // A verdict sent down the other kind of job's path can never go.
    expect(revertVerdict("judge", "JobIsExact")).toBe("fail");
    expect(revertVerdict("resolve", "JobIsTolerant")).toBe("fail");
    expect(revertVerdict("result", "JobIdUsed")).toBe("fail");
  });
});

describe("chainIntentsFor", () => {
  const row = (status: string, extra: Partial<JobRow> = {}) =>
    ({
      id: "job_1",
      status,
      account: "0x00000000000000000000000000000000000000c1",
      chainJobId: jobId(7),
      spec: { image: "x", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 1, max_price_wei: "5" },
      authSignature: `0x${"11".repeat(65)}`,
      authDeadline: 1_900_000_000,
      amountWei: null,
      resultSignature: null,
      output: null,
      ...extra,
    }) as unknown as JobRow;

  it("reserves a new authorized job, posts a succeeded one's claim, releases one that did not succeed", () => {
    expect(chainIntentsFor(row("queued"), null).map((i) => i.kind)).toEqual(["reserve"]);
    const output = { files: [], result_hash: jobId(3) };
    expect(chainIntentsFor(row("succeeded", { amountWei: "4", resultSignature: `0x${"22".repeat(65)}`, output }), "processing")).toMatchObject([{ kind: "result", payload: { amountWei: "4", resultHash: jobId(3) } }]);
    for (const status of ["failed", "canceled", "timed_out"]) expect(chainIntentsFor(row(status), "processing").map((i) => i.kind)).toEqual(["release"]);
    expect(chainIntentsFor(row("processing"), "starting")).toEqual([]);
  });

  it("reserves with the tolerant flag the spec's verify calls for, as the creator signed it", () => {
    const tolerant = { image: "x", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 1, max_price_wei: "5", verify: { mode: "tolerant", files: [{ path: "m.json", format: "json", rtol: 0.01, atol: 0 }] } };
    expect(chainIntentsFor(row("queued"), null)).toMatchObject([{ kind: "reserve", payload: { tolerant: false } }]);
    expect(chainIntentsFor(row("queued", { spec: tolerant }), null)).toMatchObject([{ kind: "reserve", payload: { tolerant: true } }]);
    expect(chainIntentsFor(row("queued", { spec: { ...tolerant, verify: { mode: "exact" } } }), null)).toMatchObject([{ kind: "reserve", payload: { tolerant: false } }]);
  });

  it("asks nothing of the chain for a job without an authorization", () => {
    expect(chainIntentsFor(row("queued", { authSignature: null, authDeadline: null }), null)).toEqual([]);
  });
});

describe("indexed events", () => {
  it("say which jobs, accounts and providers to read again", () => {
    const touched = emptyTouched();
    touch({ name: "JobSettled", args: { jobId: jobId(1), creator: "0xAA00000000000000000000000000000000000001", provider: "0xBB00000000000000000000000000000000000002" } }, touched);
    touch({ name: "Credited", args: { account: "0xCC00000000000000000000000000000000000003", jobId: `0x${"0".repeat(64)}` } }, touched);
    expect([...touched.jobs]).toEqual([jobId(1)]);
    expect([...touched.accounts].sort()).toEqual(["0xaa00000000000000000000000000000000000001", "0xbb00000000000000000000000000000000000002", "0xcc00000000000000000000000000000000000003"]);
    expect([...touched.providers]).toEqual(["0xbb00000000000000000000000000000000000002"]);
  });

  it("map the contract's job status to settlement", () => {
    expect([0, 1, 2, 3, 4, 5, 6].map(settlementFor)).toEqual([undefined, "pending", "pending", "challenged", "settled", "refunded", "refunded"]);
  });
});
