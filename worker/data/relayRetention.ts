// How long the relay keeps a job's inputs: until the job has ended and its
// settlement is final (protocol/jobStatus.ts `inputsNoLongerNeeded`). Until then a
// provider may still fetch them, or a mediator drawn for a challenge. The sweeper
// deletes them then, and marks the job so it never lists that prefix again. The
// job's sealed secrets go in the same step: past it, no run or re-run needs them.
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { finalSettlements, terminalStatuses } from "../../protocol/jobStatus.ts";
import { inputsPrefix } from "../../protocol/uploads.ts";
import type { Db } from "../db/client.ts";
import { jobs } from "../db/schema.ts";

/** After a job's end: an upload or a read still under way when it ended gets to finish. */
export const INPUTS_GRACE_MS = 10 * 60_000;
/** Jobs per sweep: each costs an R2 list and a delete or two. */
const JOBS_PER_SWEEP = 50;
/** R2 deletes at most this many keys per call. */
const R2_DELETE_BATCH = 1000;

/** Deletes every object the relay keeps of a job's inputs; how many there were. */
export async function deleteRelayInputs(bucket: R2Bucket, jobId: string): Promise<number> {
  let deleted = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: inputsPrefix(jobId), limit: R2_DELETE_BATCH, ...(cursor ? { cursor } : {}) });
    if (page.objects.length > 0) await bucket.delete(page.objects.map((object) => object.key));
    deleted += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return deleted;
}

/** One sweep's worth: jobs past the grace whose inputs are no longer needed. */
export async function purgeRelayInputs(db: Db, bucket: R2Bucket, now: number): Promise<{ jobs: number; objects: number }> {
  const due = await db
    .select({ id: jobs.id, spec: jobs.spec })
    .from(jobs)
    .where(
      and(
        inArray(jobs.status, [...terminalStatuses]),
        inArray(jobs.settlement, [...finalSettlements]),
        isNull(jobs.inputsPurgedAt),
        sql`coalesce(${jobs.completedAt}, ${jobs.createdAt}) < ${now - INPUTS_GRACE_MS}`,
      ),
    )
    .limit(JOBS_PER_SWEEP);
  let objects = 0;
  for (const job of due) {
    // A job without input files never had any in the relay: marked, nothing listed.
    if ((job.spec as JobSpec).input_files?.length) objects += await deleteRelayInputs(bucket, job.id);
    await db.update(jobs).set({ inputsPurgedAt: now, sealedSecrets: null }).where(eq(jobs.id, job.id));
  }
  return { jobs: due.length, objects };
}
