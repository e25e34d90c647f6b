// Writes a new job: the row and its first transition (∅ → queued) in one batch,
// then announces it (several jobs: one batch for all). The route (api/jobs.ts) validates and funds it first.
import { sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { JobLabels } from "../../protocol/labels.ts";
import { violatesConstraint } from "../db/constraints.ts";
import { jobs, jobTransitions } from "../db/schema.ts";
import { conflict, unknownApiKey } from "../errors/problem.ts";
import { announceTransition } from "./announce.ts";
import type { JobContext, Transition } from "./context.ts";
import { inputSourceRows } from "./inputSourceLinks.ts";
import { labelRows } from "./labels.ts";
import type { JobRow } from "./serialize.ts";

/** A new job; its account may be SQL that reads it from the API key in the same batch (requireApiKeyInBatch). */
export type NewJob = Omit<typeof jobs.$inferInsert, "account"> & { account: string | SQL };

/** `place`: which job of a batch carries the key (`jobs.N`). */
export const jobKeyUsed = (place?: number) =>
  conflict("job-key-used", `${place === undefined ? "that authorization's" : `jobs.${place}: its authorization's`} job_key was already used: every job needs a fresh random key`);

/** Whether an insert failed on the unique index of jobs.chain_job_id: another job took the same key first. */
export function isJobKeyTaken(error: unknown): boolean {
  return violatesConstraint(error, /UNIQUE constraint failed: jobs\.chain_job_id/);
}

/**
 * Records every one of `rows` with its first transition, with any statements that must share their fate
 * (`alongside`), in one D1 batch, which is one transaction: all of them, or
 * (one refused: a job key used twice, an unknown key) none. Each is announced once all are written.
 */
export async function insertQueuedJobs(ctx: JobContext, rows: readonly NewJob[], alongside: BatchItem<"sqlite">[] = []): Promise<JobRow[]> {
  const statements: BatchItem<"sqlite">[] = [];
  // Where each job's insert and transition sit in the batch, to read their returned rows back.
  const places = rows.map((row) => {
    const audience = { account: row.account, webhook: row.webhook ?? null, webhookEventsFilter: row.webhookEventsFilter as string[] };
    const at = statements.length;
    statements.push(
      ctx.db.insert(jobs).values({ ...row, status: "queued" }).returning(),
      ctx.db
        .insert(jobTransitions)
        .select(sql`SELECT NULL, ${row.id}, NULL, 'queued', NULL, ${row.createdAt}, ${ctx.outbox.dispatchedAtSql("job.queued", audience, row.createdAt)}`)
        .returning({ id: jobTransitions.id, dispatchedAt: jobTransitions.dispatchedAt }),
      // Which jobs its inputs come from: a source's end finds it by these (matching/dependents.ts).
      ...inputSourceRows(ctx.db, row.id, row.spec as JobSpec),
      ...labelRows(ctx.db, row.id, row.labels as JobLabels | null | undefined),
    );
    return at;
  });
  statements.push(...alongside);
  const results = (await ctx.db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]).catch((error: unknown) => {
    // Two requests with one authorization: the second loses here, however close they came.
    if (isJobKeyTaken(error)) throw jobKeyUsed();
    // The account read from an API key in the batch was NULL: the key is unknown or revoked.
    if (violatesConstraint(error, /NOT NULL constraint failed: jobs\.account/)) throw unknownApiKey();
    throw error;
  })) as unknown[];
  const written = places.map((at) => ({ job: (results[at] as JobRow[])[0]!, transition: (results[at + 1] as NonNullable<Transition["record"]>[])[0] }));
  for (const { job, transition } of written) await announceTransition(ctx, { row: job, from: null, origin: "api", record: transition });
  return written.map(({ job }) => job);
}
