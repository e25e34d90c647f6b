// The job_labels table: a job's labels, one row each with its account and order,
// written with the job and read by a listing filtered on them.
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { JobLabels, LabelFilter } from "../../protocol/labels.ts";
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

/** The conditions on `jobs` that keep an account's jobs carrying every label filtered on, each read from the index. */
export function labelConditions(db: Db, account: string, filters: readonly LabelFilter[]): SQL[] {
  return filters.map(({ key, value }) =>
    inArray(
      jobs.id,
      db
        .select({ id: jobLabels.jobId })
        .from(jobLabels)
        .where(and(eq(jobLabels.account, account), eq(jobLabels.key, key), eq(jobLabels.value, value))),
    ),
  );
}
