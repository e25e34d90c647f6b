// The job_labels table: a job's labels, one row each with its account and order,
// written with the job and read by a listing filtered on them.
import { and, eq, exists, getTableColumns, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { BatchItem } from "drizzle-orm/batch";
import type { JobLabels, LabelFilter } from "../../protocol/labels.ts";
import { keyset, type Cursor } from "../db/cursor.ts";
import type { Db } from "../db/client.ts";
import { jobLabels, jobs } from "../db/schema.ts";

/**
 * The statement that indexes a new job's labels, for its insert's batch: it reads the account and order from the
 * job just written (the account may come from the API key in the same batch), one statement for all of them.
 */
export function labelRows(db: Db, jobId: string, labels: JobLabels | null | undefined): BatchItem<"sqlite">[] {
  if (!labels || Object.keys(labels).length === 0) return [];
  return [
    db
      .insert(jobLabels)
      .select(sql`SELECT ${jobs.id}, ${jobs.account}, l.key, l.value, ${jobs.seq} FROM ${jobs}, json_each(${JSON.stringify(labels)}) AS l WHERE ${jobs.id} = ${jobId}`),
  ];
}

/**
 * A page of an account's jobs carrying every label in `filters` (at least one), walked from the first label's index
 * in the jobs' order: a page reads about as many rows as it returns, however many jobs the account has. Each further
 * label is one lookup of the job's own row by its key.
 */
export function labelledJobsQuery(db: Db, account: string, filters: readonly LabelFilter[], options: { status?: string; limit: number; cursor?: Cursor }) {
  const [first, ...rest] = filters;
  if (!first) throw new Error("labelledJobsQuery needs a label to walk");
  // Walked by the label row's copy of the job's seq, so its index gives the order.
  const page = keyset(jobLabels.seq, options.cursor);
  const conditions: SQL[] = [eq(jobLabels.account, account), eq(jobLabels.key, first.key), eq(jobLabels.value, first.value), eq(jobs.id, jobLabels.jobId), eq(jobs.account, account)];
  if (page.from) conditions.push(page.from);
  if (options.status) conditions.push(eq(jobs.status, options.status));
  for (const { key, value } of rest) {
    const other = alias(jobLabels, "other");
    conditions.push(exists(db.select({ one: sql`1` }).from(other).where(and(eq(other.jobId, jobLabels.jobId), eq(other.key, key), eq(other.value, value)))));
  }
  return db
    .select(getTableColumns(jobs))
    .from(jobLabels)
    // CROSS JOIN: SQLite keeps the label's index as the outer loop, so the order comes from it with no sort.
    .crossJoin(jobs)
    .where(and(...conditions))
    .orderBy(page.order)
    .limit(options.limit + 1);
}
