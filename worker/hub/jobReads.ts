// The hub's reads of jobs in D1, named for what each decision needs.
import { and, eq, inArray } from "drizzle-orm";
import type { Address } from "viem";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { Db } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import { awaitsInputs, providerSpecOf } from "../jobs/inputSources.ts";
import type { HeldJob } from "./reconcile.ts";

/** The jobs a provider holds now (assigned and not finished). */
export async function jobsHeldBy(db: Db, address: Address): Promise<HeldJob[]> {
  const rows = await db
    .select({ id: jobs.id, status: jobs.status, attempt: jobs.attempt, sealedSecrets: jobs.sealedSecrets })
    .from(jobs)
    .where(and(eq(jobs.provider, address), inArray(jobs.status, ["starting", "processing"])));
  return rows.map((row) => ({ ...row, status: row.status as JobStatus }));
}

/**
 * What an offer needs to know of a job: is it still queued, and funded; and the spec the provider runs,
 * its input files resolved (an entry from another job's outputs with their size and sha256, so the
 * provider checks every byte). Undefined, like a job gone, while some of its inputs are not known yet:
 * matching never has such a job, and their source's end hands it over again.
 */
export async function jobToOffer(db: Db, jobId: string) {
  const row = (
    await db
      .select({
        id: jobs.id, status: jobs.status, spec: jobs.spec, resolvedInputFiles: jobs.resolvedInputFiles, chainJobId: jobs.chainJobId, settlement: jobs.settlement,
        // What the accept's transition starts from (heldJobs.ts).
        provider: jobs.provider, account: jobs.account, webhook: jobs.webhook, webhookEventsFilter: jobs.webhookEventsFilter, maxAmountWei: jobs.maxAmountWei,
        // A requeued job resumes from it (protocol/checkpoint.ts).
        checkpoint: jobs.checkpoint,
      })
      .from(jobs)
      .where(eq(jobs.id, jobId))
  )[0];
  if (!row || awaitsInputs(row)) return undefined;
  return { ...row, spec: providerSpecOf(row) };
}

export async function jobById(db: Db, jobId: string) {
  return (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0];
}

export async function statusAndProvider(db: Db, jobId: string) {
  return (await db.select({ status: jobs.status, provider: jobs.provider }).from(jobs).where(eq(jobs.id, jobId)))[0];
}
