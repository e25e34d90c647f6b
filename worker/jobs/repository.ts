// Reading jobs, always within one account: another account's job is simply not found.
import { and, asc, eq, type SQL } from "drizzle-orm";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { Db } from "../db/client.ts";
import { jobs, jobTransitions } from "../db/schema.ts";
import { keyset, type Cursor } from "../db/cursor.ts";
import type { LabelFilter } from "../../protocol/labels.ts";
import { labelledJobsQuery } from "./labels.ts";
import type { JobRow } from "./serialize.ts";

export async function findJob(db: Db, account: string, id: string): Promise<JobRow | undefined> {
  return (await db.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.account, account))))[0];
}

/** Fetches `limit + 1` rows from the cursor onwards, so the caller can tell whether more exist. */
export async function listJobRows(
  db: Db,
  account: string,
  options: { status?: JobStatus; labels?: readonly LabelFilter[]; limit: number; cursor?: Cursor },
): Promise<JobRow[]> {
  if (options.labels?.length) return labelledJobsQuery(db, account, options.labels, options);
  const conditions: SQL[] = [eq(jobs.account, account)];
  if (options.status) conditions.push(eq(jobs.status, options.status));
  const page = keyset(jobs.seq, options.cursor);
  if (page.from) conditions.push(page.from);
  return db
    .select()
    .from(jobs)
    .where(and(...conditions))
    .orderBy(page.order)
    .limit(options.limit + 1);
}

export async function listTransitions(db: Db, jobId: string) {
  return db
    .select({ from: jobTransitions.fromStatus, to: jobTransitions.toStatus, detail: jobTransitions.detail, at: jobTransitions.at })
    .from(jobTransitions)
    .where(eq(jobTransitions.jobId, jobId))
    .orderBy(asc(jobTransitions.id));
}
