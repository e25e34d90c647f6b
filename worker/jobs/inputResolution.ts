// Resolving a job whose input files come from other jobs' outputs, in D1: its
// sources as they stand now decide whether it is ready (its files fixed, its match
// window starting), still waits, or fails saying why. Computed afresh from the
// sources' rows each time, so any number of callers (each source's end, the
// creation that raced one, the sweeper) may resolve one job: the first to write wins.
import { and, eq, inArray, isNull, not, or, sql, type SQL } from "drizzle-orm";
import { sourceJobsOf, type JobSpec } from "../../protocol/jobSpec.ts";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { terminalStatuses } from "../../protocol/jobStatus.ts";
import { earliestDeadline } from "../../protocol/deadlines.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import type { Db } from "../db/client.ts";
import { jobInputSources, jobs } from "../db/schema.ts";
import type { JobContext } from "./context.ts";
import { awaitsInputs, resolveInputFiles, type SourceJob } from "./inputSources.ts";
import type { JobRow } from "./serialize.ts";
import { transitionIfStill } from "./transitions.ts";

/** The account's jobs among `ids`, by id: another account's job is simply absent. */
export async function loadSources(db: Db, account: string, ids: readonly string[]): Promise<Map<string, SourceJob>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: jobs.id, status: jobs.status, error: jobs.error, output: jobs.output })
    .from(jobs)
    .where(and(inArray(jobs.id, [...ids]), eq(jobs.account, account)));
  return new Map(rows.map((row) => [row.id, { id: row.id, status: row.status as JobStatus, error: row.error, output: row.output as OutputManifest | null }]));
}

/** How long after a source's end its waiting dependents are looked at again whatever their other sources do. */
export const RECENTLY_ENDED_MS = 10 * 60_000;

/**
 * Waiting jobs that their sources as they stand may resolve or fail: what a lost announcement left. Every source
 * ended, or one ended without succeeding; or one ended in the last RECENTLY_ENDED_MS (it may have succeeded without
 * the output the job names, which fails the job at once, and SQL does not read manifests). Those certain to move come
 * first; those only worth a look after. Not those that rightly wait for a source still running (a job runs up to a
 * day) after an old success, which would fill every page.
 */
export async function dependentsWithEndedSources(db: Db, limit: number, now = Date.now()): Promise<string[]> {
  const sourcesWhere = (condition: SQL) =>
    sql`EXISTS (SELECT 1 FROM ${jobInputSources} JOIN ${jobs} AS source ON source.id = ${jobInputSources.sourceJobId} WHERE ${jobInputSources.jobId} = ${jobs.id} AND ${condition})`;
  const ended = sql`source.status IN ${[...terminalStatuses]}`;
  // Certain to be resolved or failed now: these come first in the page, ahead of those only worth a look.
  const settled = or(not(sourcesWhere(sql`NOT (${ended})`)), sourcesWhere(sql`${ended} AND source.status <> 'succeeded'`))!;
  const rows = await db
    .select({ jobId: jobs.id })
    .from(jobs)
    .where(
      and(
        eq(jobs.status, "queued"),
        isNull(jobs.resolvedInputFiles),
        sourcesWhere(sql`1`),
        or(settled, sourcesWhere(sql`${ended} AND source.completed_at > ${now - RECENTLY_ENDED_MS}`)),
      ),
    )
    .orderBy(sql`CASE WHEN ${settled} THEN 0 ELSE 1 END`)
    .limit(limit);
  return rows.map((row) => row.jobId);
}

/** SQL true for a queued job that waits for other jobs' outputs (awaitsInputs): not matched, and its match window not started. */
export const awaitsInputsSql = sql`(${jobs.resolvedInputFiles} IS NULL AND EXISTS (SELECT 1 FROM ${jobInputSources} WHERE ${jobInputSources.jobId} = ${jobs.id}))`;

/**
 * Resolves one waiting job against its sources as they are now: returns its row if this call made
 * it ready (the caller hands it to matching); fails it if a source failed or lacks the output.
 */
export async function resolveDependent(ctx: JobContext, jobId: string, now = Date.now()): Promise<JobRow | undefined> {
  const row = (await ctx.db.select().from(jobs).where(eq(jobs.id, jobId)))[0];
  if (!row || row.status !== "queued" || !awaitsInputs(row)) return undefined;
  const spec = row.spec as JobSpec;
  const resolution = resolveInputFiles(spec.input_files ?? [], await loadSources(ctx.db, row.account, sourceJobsOf(spec)));
  if (resolution.kind === "failed") {
    await transitionIfStill(ctx, jobId, "failed", { error: resolution.reason }, "pipeline");
    return undefined;
  }
  if (resolution.kind === "waiting") {
    if (row.statusDetail !== resolution.detail) await ctx.db.update(jobs).set({ statusDetail: resolution.detail }).where(and(eq(jobs.id, jobId), eq(jobs.status, "queued")));
    return undefined;
  }
  // Paid from escrow: its result must reach the chain by the deadline the creator signed, or it runs unpaid. Its
  // match window starts now, so the deadline must leave what creation demands from now on.
  if (row.authDeadline !== null && row.authDeadline < earliestDeadline(spec, now)) {
    const leftS = row.authDeadline - now / 1000;
    await transitionIfStill(ctx, jobId, "failed", { error: `its inputs were known only ${Math.max(0, Math.round(leftS))} s before its authorization's deadline: too late to match and run it (sign a deadline that covers the wait for its source jobs)` }, "pipeline");
    return undefined;
  }
  // Only while still queued and unresolved: another resolver, or a cancel, may have come first.
  const [ready] = await ctx.db
    .update(jobs)
    .set({ resolvedInputFiles: resolution.files, inputsReadyAt: now, statusDetail: null })
    .where(and(eq(jobs.id, jobId), eq(jobs.status, "queued"), isNull(jobs.resolvedInputFiles)))
    .returning();
  return ready;
}
