// The job_input_sources table: which jobs a job's inputs come from, written with
// the job and read when a source ends (so its dependents learn how it ended).
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { sourceJobsOf, type JobSpec } from "../../protocol/jobSpec.ts";
import type { Db } from "../db/client.ts";
import { jobInputSources } from "../db/schema.ts";

/** The rows that record which jobs a new job's inputs come from, for its insert's batch. */
export function inputSourceRows(db: Db, jobId: string, spec: JobSpec): BatchItem<"sqlite">[] {
  const sources = sourceJobsOf(spec);
  return sources.length === 0 ? [] : [db.insert(jobInputSources).values(sources.map((sourceJobId) => ({ jobId, sourceJobId })))];
}

/** The read of the jobs whose inputs come from `sourceJobId`, for a batch: a job's end reads them with its status (transitions.ts). */
export function dependentsQuery(db: Db, sourceJobId: string) {
  return db.select({ jobId: jobInputSources.jobId }).from(jobInputSources).where(eq(jobInputSources.sourceJobId, sourceJobId));
}
