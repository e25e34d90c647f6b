// Admitting jobs paid from escrow: their job keys are unused and the creator's
// free escrow covers their prices, checked and written as one step. Wei outgrow
// SQLite's integers, so the sum cannot be a condition of the insert itself;
// instead each creator's admission object (objects/CreatorAdmission.ts) runs
// this for one create (a job, or a batch of them) at a time, so two creates cannot both spend the
// same wei.
import { inArray } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { inPieces } from "../db/listParameters.ts";
import { jobs } from "../db/schema.ts";
import { ApiError, apiErrorData, type ApiErrorData } from "../errors/problem.ts";
import type { JobContext } from "../jobs/context.ts";
import { insertQueuedJobs, jobKeyUsed, type NewJob } from "../jobs/insert.ts";
import type { JobRow } from "../jobs/serialize.ts";
import { escrowFrom, escrowReads, type Escrow } from "./balances.ts";

/** A paid job as the route built it: its account is the creator's address. */
export type PaidJob = NewJob & { account: string; chainJobId: string; spec: JobSpec };

export type Admission = { admitted: true; rows: JobRow[] } | { admitted: false; refusal: ApiErrorData };

export const insufficientEscrow = (available: bigint, price: bigint, jobs = 1) =>
  new ApiError(
    402,
    "insufficient-escrow",
    "Insufficient escrow",
    `your escrow has ${available} wei free; ${jobs === 1 ? "this job" : `these ${jobs} jobs`} may cost up to ${price} wei${jobs === 1 ? "" : " together"}: deposit at least ${price - available} wei more`,
  );

/**
 * Checks and inserts paid jobs, all of them or none: the free escrow must cover their prices together. Must not run
 * concurrently for one account (the caller serializes). `syncIndex` reads the chain before a refusal: a deposit may
 * be newer than the index.
 */
export async function admitPaidJobs(ctx: JobContext, batch: readonly PaidJob[], syncIndex: () => Promise<unknown>): Promise<Admission> {
  try {
    const account = batch[0]!.account;
    const price = batch.reduce((sum, job) => sum + BigInt(job.spec.max_price_wei), 0n);
    let escrow = await escrowUnlessKeysUsed(ctx, account, batch);
    if (escrow.availableWei < price) {
      await syncIndex();
      escrow = await escrowUnlessKeysUsed(ctx, account, batch);
    }
    if (escrow.availableWei < price) throw insufficientEscrow(escrow.availableWei, price, batch.length);
    // Written before the next admission of this account reads the escrow: that one counts them as reserving.
    return { admitted: true, rows: await insertQueuedJobs(ctx, batch) };
  } catch (error) {
    if (error instanceof ApiError) return { admitted: false, refusal: apiErrorData(error) };
    throw error;
  }
}

/** The escrow, read in one round trip with whether a job key is taken (the unique index settles a race across accounts). */
async function escrowUnlessKeysUsed(ctx: JobContext, account: string, batch: readonly PaidJob[]): Promise<Escrow> {
  const keyReads = inPieces(batch.map((job) => job.chainJobId)).map((keys) => ctx.db.select({ key: jobs.chainJobId }).from(jobs).where(inArray(jobs.chainJobId, keys)));
  const [row, reserving, ...taken] = await ctx.db.batch([...escrowReads(ctx.db, account), ...keyReads]);
  const used = new Set(taken.flat().map((found) => found.key));
  if (used.size > 0) throw jobKeyUsed(batch.length === 1 ? undefined : batch.findIndex((job) => used.has(job.chainJobId)));
  return escrowFrom(row, reserving);
}
