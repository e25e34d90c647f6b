// Admitting a job paid from escrow: its job key is unused and the creator's
// free escrow covers its price, checked and written as one step. Wei outgrow
// SQLite's integers, so the sum cannot be a condition of the insert itself;
// instead each creator's admission object (objects/CreatorAdmission.ts) runs
// this for one of their jobs at a time, so two creates cannot both spend the
// same wei.
import { eq } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { jobs } from "../db/schema.ts";
import { ApiError, apiErrorData, type ApiErrorData } from "../errors/problem.ts";
import type { JobContext } from "../jobs/context.ts";
import { insertQueuedJob, jobKeyUsed, type NewJob } from "../jobs/insert.ts";
import type { JobRow } from "../jobs/serialize.ts";
import { escrowFrom, escrowReads, type Escrow } from "./balances.ts";

/** A paid job as the route built it: its account is the creator's address. */
export type PaidJob = NewJob & { account: string; chainJobId: string; spec: JobSpec };

export type Admission = { admitted: true; row: JobRow } | { admitted: false; refusal: ApiErrorData };

export const insufficientEscrow = (available: bigint, price: bigint) =>
  new ApiError(
    402,
    "insufficient-escrow",
    "Insufficient escrow",
    `your escrow has ${available} wei free; this job may cost up to ${price} wei: deposit at least ${price - available} wei more`,
  );

/**
 * Checks and inserts one paid job. Must not run concurrently for one account (the caller serializes).
 * `syncIndex` reads the chain before a refusal: a deposit may be newer than the index.
 */
export async function admitPaidJob(ctx: JobContext, job: PaidJob, syncIndex: () => Promise<unknown>): Promise<Admission> {
  try {
    const price = BigInt(job.spec.max_price_wei);
    let escrow = await escrowUnlessKeyUsed(ctx, job);
    if (escrow.availableWei < price) {
      await syncIndex();
      escrow = await escrowUnlessKeyUsed(ctx, job);
    }
    if (escrow.availableWei < price) throw insufficientEscrow(escrow.availableWei, price);
    // Written before the next admission of this account reads the escrow: that one counts it as reserving.
    return { admitted: true, row: await insertQueuedJob(ctx, job) };
  } catch (error) {
    if (error instanceof ApiError) return { admitted: false, refusal: apiErrorData(error) };
    throw error;
  }
}

/** The escrow, read in one round trip with whether the job key is taken (the unique index settles a race across accounts). */
async function escrowUnlessKeyUsed(ctx: JobContext, job: PaidJob): Promise<Escrow> {
  const [account, reserving, taken] = await ctx.db.batch([...escrowReads(ctx.db, job.account), ctx.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.chainJobId, job.chainJobId))]);
  if (taken.length > 0) throw jobKeyUsed();
  return escrowFrom(account, reserving);
}
