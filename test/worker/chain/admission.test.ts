// Paid jobs are admitted against their creator's escrow one create (a job, or a
// batch of them, all or none) at a time, by the creator's admission object:
// concurrent creates cannot each spend the same wei.
// The escrow is written into D1 as the indexer would leave it (no chain runs in
// these workerd tests; test/e2e/reservations.test.ts does the same through the
// API on anvil).
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Admission, PaidJob } from "../../../worker/chain/admission.ts";
import { admissionOf } from "../../../worker/bindings/objects.ts";
import { accounts, chainAccounts, jobs } from "../../../worker/db/schema.ts";
import { db, paidJob } from "./jobRows.ts";

const PRICE = 10_000_000_000_000_000n; // 0.01 ETH
const newCreator = () => `0x${crypto.randomUUID().replaceAll("-", "").padEnd(40, "0")}`;

async function creatorWithEscrow(balanceWei: bigint, reservedWei = 0n): Promise<string> {
  const address = newCreator();
  await db.insert(accounts).values({ address, webhookSecretEnc: "x" });
  await db.insert(chainAccounts).values({ address, balanceWei: balanceWei.toString(), reservedWei: reservedWei.toString() });
  return address;
}

// Typed back from the stub's, as the route does: RPC typing drops a row whose JSON columns are `unknown`.
const admitAll = async (batch: PaidJob[]) => (await admissionOf(env, batch[0]!.account).admit(batch, "https://pond.test")) as unknown as Admission;
const admit = (job: PaidJob) => admitAll([job]);
const reservingOf = (account: string) => db.select({ id: jobs.id }).from(jobs).where(and(eq(jobs.account, account), eq(jobs.settlement, "reserving")));

describe("admission of paid jobs", () => {
  it("admits one of 10 concurrent 0.01 ETH jobs against 0.01 ETH, and refuses the rest with 402", async () => {
    const creator = await creatorWithEscrow(PRICE);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => admit(paidJob(creator, PRICE))));
    expect(outcomes.filter((o) => o.admitted)).toHaveLength(1);
    const refusals = outcomes.flatMap((o) => (o.admitted ? [] : [o.refusal]));
    expect(refusals).toHaveLength(9);
    for (const refusal of refusals) expect(refusal).toMatchObject({ status: 402, slug: "insufficient-escrow" });
    expect(refusals[0]!.detail).toMatch(/your escrow has 0 wei free; this job may cost up to 10000000000000000 wei/);
    expect(await reservingOf(creator)).toHaveLength(1);
  });

  it("admits exactly as many as the free escrow covers, counting what is reserved and reserving", async () => {
    // 0.1 ETH, 0.02 of it reserved on chain: room for eight 0.01 ETH jobs.
    const creator = await creatorWithEscrow(10n * PRICE, 2n * PRICE);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => admit(paidJob(creator, PRICE))));
    expect(outcomes.filter((o) => o.admitted)).toHaveLength(8);
    expect(await reservingOf(creator)).toHaveLength(8);
  });

  it("keeps creators apart: one creator's queue of refusals does not hold another's job", async () => {
    const [poor, rich] = await Promise.all([creatorWithEscrow(0n), creatorWithEscrow(PRICE)]);
    const [poorOutcomes, richOutcome] = await Promise.all([Promise.all(Array.from({ length: 5 }, () => admit(paidJob(poor, PRICE)))), admit(paidJob(rich, PRICE))]);
    expect(poorOutcomes.every((o) => !o.admitted)).toBe(true);
    expect(richOutcome.admitted).toBe(true);
  });

  it("refuses a job key already used, as 409, whatever the escrow", async () => {
    const creator = await creatorWithEscrow(10n * PRICE);
    const first = paidJob(creator, PRICE);
    expect((await admit(first)).admitted).toBe(true);
    const again = { ...paidJob(creator, PRICE), chainJobId: first.chainJobId };
    const outcome = await admit(again);
    expect(outcome).toMatchObject({ admitted: false, refusal: { status: 409, slug: "job-key-used" } });
  });

  it("admits a batch whole or not at all: the escrow must cover its jobs together", async () => {
    const creator = await creatorWithEscrow(5n * PRICE);
    const tooMany = Array.from({ length: 6 }, () => paidJob(creator, PRICE));
    const refused = await admitAll(tooMany);
    expect(refused).toMatchObject({ admitted: false, refusal: { status: 402, slug: "insufficient-escrow" } });
    expect(refused.admitted ? "" : refused.refusal.detail).toMatch(/these 6 jobs may cost up to 60000000000000000 wei together: deposit at least 10000000000000000 wei more/);
    expect(await reservingOf(creator)).toHaveLength(0);
    const fits = await admitAll(tooMany.slice(0, 5));
    expect(fits.admitted && fits.rows.map((row) => row.id)).toEqual(tooMany.slice(0, 5).map((job) => job.id));
    expect(await reservingOf(creator)).toHaveLength(5);
  });

  it("never lets batches racing for one escrow spend more than it holds, each admitted whole or refused whole", async () => {
    // 0.1 ETH: room for two batches of four, not three.
    const creator = await creatorWithEscrow(10n * PRICE);
    const batches = Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => paidJob(creator, PRICE)));
    const outcomes = await Promise.all(batches.map(admitAll));
    expect(outcomes.filter((o) => o.admitted)).toHaveLength(2);
    const reserving = new Set((await reservingOf(creator)).map((row) => row.id));
    expect(reserving.size).toBe(8);
    // Every batch is all in or all out.
    for (const batch of batches) expect(new Set(batch.map((job) => reserving.has(job.id))).size).toBe(1);
  });

  it("keeps creators apart: one creator's batches refused for a short escrow do not hold another's batch", async () => {
    const [poor, rich] = await Promise.all([creatorWithEscrow(PRICE), creatorWithEscrow(4n * PRICE)]);
    const poorBatches = Array.from({ length: 5 }, () => Array.from({ length: 10 }, () => paidJob(poor, PRICE)));
    const richBatch = Array.from({ length: 4 }, () => paidJob(rich, PRICE));
    const [poorOutcomes, richOutcome] = await Promise.all([Promise.all(poorBatches.map(admitAll)), admitAll(richBatch)]);
    expect(poorOutcomes.every((o) => !o.admitted)).toBe(true);
    expect(richOutcome.admitted && richOutcome.rows.map((row) => row.id)).toEqual(richBatch.map((job) => job.id));
    expect(await reservingOf(poor)).toHaveLength(0);
  });

  it("refuses a whole batch, writing none of it, when one of its job keys was used before", async () => {
    const creator = await creatorWithEscrow(10n * PRICE);
    const first = paidJob(creator, PRICE);
    expect((await admit(first)).admitted).toBe(true);
    const batch = [paidJob(creator, PRICE), { ...paidJob(creator, PRICE), chainJobId: first.chainJobId }, paidJob(creator, PRICE)];
    expect(await admitAll(batch)).toMatchObject({ admitted: false, refusal: { status: 409, slug: "job-key-used", detail: expect.stringMatching(/^jobs\.1: its authorization's job_key was already used/) } });
    expect(await reservingOf(creator)).toHaveLength(1);
  });

  it("checks the keys of a batch longer than one statement can bind (100 jobs)", async () => {
    const creator = await creatorWithEscrow(200n * PRICE);
    const first = paidJob(creator, PRICE);
    expect((await admit(first)).admitted).toBe(true);
    const batch = Array.from({ length: 100 }, () => paidJob(creator, PRICE));
    // The used key sits past the first 90, in the second statement's list.
    batch[95] = { ...batch[95]!, chainJobId: first.chainJobId };
    expect(await admitAll(batch)).toMatchObject({ admitted: false, refusal: { status: 409, slug: "job-key-used", detail: expect.stringMatching(/^jobs\.95: /) } });
    batch[95] = paidJob(creator, PRICE);
    const admitted = await admitAll(batch);
    expect(admitted.admitted && admitted.rows).toHaveLength(100);
    expect(await reservingOf(creator)).toHaveLength(101);
  });
});
