// Transition counts per (hour, status) turned into a gap-free series of hours,
// oldest first, each saying how many jobs were queued, started and finished. Pure.
import type { ActivityBucket } from "../../protocol/network.ts";
import { isTerminal, JobStatus } from "../../protocol/jobStatus.ts";

export const HOUR_MS = 3_600_000;

export interface HourlyCount {
  /** Hours since the epoch. */
  hour: number;
  status: string;
  count: number;
}

export function hourlyBuckets(rows: readonly HourlyCount[], now: number, hours: number): ActivityBucket[] {
  const last = Math.floor(now / HOUR_MS);
  const first = last - hours + 1;
  const buckets = Array.from({ length: hours }, (_, i) => ({ hour: new Date((first + i) * HOUR_MS).toISOString(), queued: 0, started: 0, finished: 0 }));
  for (const row of rows) {
    const bucket = buckets[row.hour - first];
    const status = JobStatus.safeParse(row.status);
    if (!bucket || !status.success) continue;
    if (status.data === "queued") bucket.queued += row.count;
    else if (status.data === "processing") bucket.started += row.count;
    else if (isTerminal(status.data)) bucket.finished += row.count;
  }
  return buckets;
}
