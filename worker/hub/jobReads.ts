// The hub's reads of jobs in D1, named for what each decision needs.
import { and, eq, inArray } from "drizzle-orm";
import type { Address } from "viem";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { Db } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import type { HeldJob } from "./reconcile.ts";

/** The jobs a provider holds now (assigned and not finished). */
export async function jobsHeldBy(db: Db, address: Address): Promise<HeldJob[]> {
  const rows = await db
    .select({ id: jobs.id, status: jobs.status, attempt: jobs.attempt })
    .from(jobs)
    .where(and(eq(jobs.provider, address), inArray(jobs.status, ["starting", "processing"])));
  return rows.map((row) => ({ ...row, status: row.status as JobStatus }));
}

/** What an offer needs to know of a job: is it still queued, and funded. */
export async function jobToOffer(db: Db, jobId: string) {
  return (await db.select({ status: jobs.status, spec: jobs.spec, chainJobId: jobs.chainJobId, settlement: jobs.settlement }).from(jobs).where(eq(jobs.id, jobId)))[0];
}

export async function jobById(db: Db, jobId: string) {
  return (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0];
}

export async function statusAndProvider(db: Db, jobId: string) {
  return (await db.select({ status: jobs.status, provider: jobs.provider }).from(jobs).where(eq(jobs.id, jobId)))[0];
}
