// The network's job figures from D1: jobs waiting and running now, jobs per
// hour, and how long recent jobs took to be matched and to finish. Every query
// reads an index range, never the whole jobs table.
import { and, count, desc, eq, gte, inArray, isNotNull, sql } from "drizzle-orm";
import type { ActivityBucket } from "../../protocol/network.ts";
import { terminalStatuses } from "../../protocol/jobStatus.ts";
import type { Db } from "../db/client.ts";
import { jobs, jobTransitions } from "../db/schema.ts";
import { HOUR_MS, hourlyBuckets } from "./hourlyBuckets.ts";
import { median } from "./median.ts";

/** Medians are over at most this many of the latest finished jobs. */
const TIMING_SAMPLE = 500;
export const TIMING_WINDOW_HOURS = 24;

export async function jobsNow(db: Db): Promise<{ queued: number; running: number }> {
  const rows = await db
    .select({ status: jobs.status, n: count() })
    .from(jobs)
    .where(inArray(jobs.status, ["queued", "starting", "processing"]))
    .groupBy(jobs.status);
  const of = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
  return { queued: of("queued"), running: of("starting") + of("processing") };
}

export async function jobsPerHour(db: Db, now: number, hours: number): Promise<ActivityBucket[]> {
  const since = (Math.floor(now / HOUR_MS) - hours + 1) * HOUR_MS;
  // A literal, not a bound parameter: D1 binds numbers as REAL, and the hour must be an integer.
  const hour = sql<number>`cast(${jobTransitions.at} / ${sql.raw(String(HOUR_MS))} as integer)`;
  const rows = await db
    .select({ hour, status: jobTransitions.toStatus, count: count() })
    .from(jobTransitions)
    .where(gte(jobTransitions.at, since))
    .groupBy(hour, jobTransitions.toStatus);
  return hourlyBuckets(rows, now, hours);
}

export async function recentTimings(db: Db, now: number) {
  const rows = await db
    .select({ createdAt: jobs.createdAt, assignedAt: jobs.assignedAt, completedAt: jobs.completedAt })
    .from(jobTransitions)
    .innerJoin(jobs, eq(jobs.id, jobTransitions.jobId))
    .where(and(gte(jobTransitions.at, now - TIMING_WINDOW_HOURS * HOUR_MS), inArray(jobTransitions.toStatus, [...terminalStatuses]), isNotNull(jobs.assignedAt)))
    .orderBy(desc(jobTransitions.at))
    .limit(TIMING_SAMPLE);
  return {
    median_match_ms: median(rows.map((row) => row.assignedAt! - row.createdAt)),
    median_finish_ms: median(rows.filter((row) => row.completedAt !== null).map((row) => row.completedAt! - row.createdAt)),
    sample: rows.length,
    window_hours: TIMING_WINDOW_HOURS,
  };
}
