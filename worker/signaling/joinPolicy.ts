// Who may open a job's signaling as its creator, and for how long. Every socket
// is a hibernated WebSocket this job's rendezvous holds and fans each signal out
// to, so one creator's sockets are capped; and a job that has ended keeps its
// signaling only while there is still something to move: a succeeded job's
// outputs, which its provider serves for an hour by default (its
// --output-retention-s), or longer while a challenge of it is open.
import type { JobStatus, SettlementStatus } from "../../protocol/jobStatus.ts";
import { ApiError, conflict } from "../errors/problem.ts";

/** Sockets one job's creator may hold open at once: a `pond run` and a dashboard tab need a few between them. */
export const MAX_CREATOR_SOCKETS = 8;
/** How long after a job succeeded its signaling still opens: the provider's default output retention. */
export const SIGNALING_AFTER_SUCCESS_MS = 3_600_000;

export interface JoiningJob {
  status: JobStatus;
  settlement: SettlementStatus;
  completedAt: number | null;
}

/** Why the creator may not open another signaling socket for `job` now, as the error to answer; undefined if they may. */
export function creatorJoinRefusal(job: JoiningJob, openSockets: number, now: number): ApiError | undefined {
  if (job.status === "failed" || job.status === "canceled" || job.status === "timed_out") {
    return conflict("job-ended", `the job is ${job.status}: it has no files left to transfer, so its signaling is closed`);
  }
  const stillServed = job.status !== "succeeded" || job.settlement === "challenged" || job.completedAt === null || now - job.completedAt < SIGNALING_AFTER_SUCCESS_MS;
  if (!stillServed) {
    return conflict("job-ended", `the job ended more than ${SIGNALING_AFTER_SUCCESS_MS / 60_000} minutes ago: its provider no longer serves its outputs peer to peer; download them from the API (GET /v1/jobs/{id}/outputs/{path})`);
  }
  if (openSockets >= MAX_CREATOR_SOCKETS) {
    return new ApiError(429, "too-many-signaling-sockets", "Too many signaling sockets", `${openSockets} signaling sockets are already open for this job (at most ${MAX_CREATOR_SOCKETS}); close one before opening another`);
  }
  return undefined;
}
