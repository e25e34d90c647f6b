// A sweep's jobs, found by the label each carries (one page holds a whole sweep),
// and canceling them: what `pond sweep show|cancel` read and stop, and what a
// sweep whose create lost its answer looks for (runSweep.ts).
import type { Job } from "../../protocol/job.ts";
import { PondApiError, type PondClient } from "../../sdk/index.ts";
import { SWEEP_LABEL, sweepLimits } from "./grid.ts";

/** The sweep's jobs, oldest first (the grid's order); none when it has none among the caller's jobs. */
export async function jobsOfSweep(sdk: Pick<PondClient, "listJobs">, sweepId: string): Promise<Job[]> {
  const page = await sdk.listJobs({ label: [`${SWEEP_LABEL}=${sweepId}`], limit: sweepLimits.maxJobs });
  return page.results.reverse();
}

/**
 * Cancels each of `jobs`, whatever becomes of one: every one is tried, and those that could not be are returned
 * with why. One that ended since it was read (409) is left as it ended, not counted as a failure.
 */
export async function cancelEach(sdk: Pick<PondClient, "cancelJob">, jobs: readonly Job[]): Promise<{ canceled: Job[]; failures: Array<{ id: string; error: unknown }> }> {
  const canceled: Job[] = [];
  const failures: Array<{ id: string; error: unknown }> = [];
  for (const job of jobs) {
    try {
      canceled.push(await sdk.cancelJob(job.id));
    } catch (error) {
      if (!(error instanceof PondApiError && error.problem.status === 409)) failures.push({ id: job.id, error });
    }
  }
  return { canceled, failures };
}
