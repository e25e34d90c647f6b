// The job state machine (docs/architecture.md "Job lifecycle"). Pure: which status may
// follow which. `transitions.ts` is the only writer of `status` and asks here first.
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";

const allowed: Record<JobStatus, readonly JobStatus[]> = {
  // Matched to a provider; or never matched (no capacity, match timeout); or canceled.
  queued: ["starting", "failed", "canceled"],
  // Container running; pull failed; provider lost before start (requeue); canceled.
  starting: ["processing", "failed", "queued", "canceled", "timed_out"],
  // Finished one way or another; or provider lost mid-run (requeue).
  processing: ["succeeded", "failed", "canceled", "timed_out", "queued"],
  succeeded: [],
  failed: [],
  canceled: [],
  timed_out: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return allowed[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(
      isTerminal(from)
        ? `the job is already ${from}; a finished job never changes again`
        : `a ${from} job cannot become ${to}`,
    );
    this.name = "IllegalTransitionError";
  }
}

export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}
