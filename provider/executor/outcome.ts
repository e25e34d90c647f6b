// What a finished container's run means for the job. Pure. The exit code
// decides: a process inside that was killed for memory fails the job only if
// the job then exits non-zero; otherwise it is reported as a warning.
import type { JobSpec } from "../../protocol/jobSpec.ts";

export type Outcome = "succeeded" | "failed" | "timed_out" | "canceled";

/** How the wait for the container ended. */
export type Ended = "exited" | "timed_out" | "canceled" | { tooMuchOutput: string };

export interface ContainerEnd {
  exitCode: number | null;
  oomKilled: boolean;
  /** How long it ran, from Docker's start and finish times. */
  runMs?: number;
}

export interface Verdict {
  outcome: Outcome;
  error: string | null;
  /** Worth telling the creator though the job succeeded. */
  warning: string | null;
}

export function verdictOf(ended: Ended, end: ContainerEnd, spec: Pick<JobSpec, "timeout_s" | "resources">, outputExcess?: string): Verdict {
  const verdict = (outcome: Outcome, error: string | null, warning: string | null = null): Verdict => ({ outcome, error, warning });
  const oom = `the container ran out of memory (limit ${spec.resources.memory_mb} MiB)`;
  if (ended === "canceled") return verdict("canceled", "canceled while running");
  if (typeof ended === "object") return verdict("failed", `${ended.tooMuchOutput} and was stopped`);
  if (ended === "timed_out") return verdict("timed_out", `the job ran past its timeout of ${spec.timeout_s} s and was stopped`);
  // Ended while no daemon watched it, having run its whole time: its watchdog stopped it past the deadline.
  if (end.exitCode !== 0 && end.runMs !== undefined && end.runMs >= spec.timeout_s * 1000) {
    return verdict("timed_out", `the job ran past its timeout of ${spec.timeout_s} s and was stopped (exit code ${end.exitCode})`);
  }
  // Checked before the exit code: a job that hit the cap often fails on ENOSPC, and the cap is the reason.
  if (outputExcess) return verdict("failed", `${outputExcess}, more than this provider keeps`);
  if (end.exitCode !== 0) return verdict("failed", end.oomKilled ? `${oom} and was killed` : `the container exited with code ${end.exitCode}`);
  if (end.oomKilled) return verdict("succeeded", null, `a process in the job was killed: ${oom}; the job exited 0, so it succeeded`);
  return verdict("succeeded", null);
}
