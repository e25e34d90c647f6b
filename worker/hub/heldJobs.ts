// Each job a hub has offered or holds, as the hub last read or wrote it, in
// memory only: the accept, the provider's "running" and its result each start
// their compare-and-set from it instead of reading the job from D1 again (a
// round trip each, on the way to the job's start and to its webhook). Never
// trusted beyond that: a stale copy makes the compare-and-set miss and read
// afresh (jobs/transitions.ts). Lost with the object; the reads come back then.
import type { JobRow } from "../jobs/serialize.ts";
import type { SeenJob } from "../jobs/transitions.ts";

/** What the hub's steps read of a job: a compare-and-set's start, and a result's check. */
export type HeldJob = SeenJob & Pick<JobRow, "chainJobId" | "maxAmountWei">;

/** Far above what a hub's providers can hold at once (each job holds capacity), so only a leak ever meets it. */
export const MAX_HELD = 10_000;

export class HeldJobs {
  private readonly jobs = new Map<string, HeldJob>();

  /** Keeps the columns it needs, not the row: a spec may run to megabytes. */
  keep(row: HeldJob): void {
    const { id, status, provider, account, webhook, webhookEventsFilter, chainJobId, maxAmountWei } = row;
    this.jobs.delete(id);
    this.jobs.set(id, { id, status, provider, account, webhook, webhookEventsFilter, chainJobId, maxAmountWei });
    // Insertion order is age: the oldest goes first.
    if (this.jobs.size > MAX_HELD) this.jobs.delete(this.jobs.keys().next().value!);
  }

  get(jobId: string): HeldJob | undefined {
    return this.jobs.get(jobId);
  }

  drop(jobId: string): void {
    this.jobs.delete(jobId);
  }
}
