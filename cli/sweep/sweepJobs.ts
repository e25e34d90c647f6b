// A sweep's jobs, found by the label each carries (one page holds a whole sweep),
// waited for, and canceled: what `pond sweep show|wait|cancel` read, wait on and
// stop, what `pond run --grid` waits on, and what a sweep whose create lost its
// answer looks for (runSweep.ts).
import type { Job } from "../../protocol/job.ts";
import { PondApiError, type PondClient } from "../../sdk/index.ts";
import { endedLine, waitForJobs, type WaitOutcome } from "../waitJobs.ts";
import { SWEEP_LABEL, sweepLimits } from "./grid.ts";

/** The sweep's jobs, oldest first (the grid's order); none when it has none among the caller's jobs. */
export async function jobsOfSweep(sdk: Pick<PondClient, "listJobs">, sweepId: string): Promise<Job[]> {
  const page = await sdk.listJobs({ label: [`${SWEEP_LABEL}=${sweepId}`], limit: sweepLimits.maxJobs });
  return page.results.reverse();
}

/** Waits until the jobs have ended (or `timeoutMs` passed), noting each as it ends. */
export async function waitForSweep(sdk: PondClient, ids: readonly string[], options: { note: (text: string) => void; timeoutMs?: number }): Promise<WaitOutcome> {
  const { note } = options;
  return waitForJobs(sdk, ids, { onEnded: (job) => note(endedLine(job)), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
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
