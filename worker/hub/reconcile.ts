// What a reconnecting provider's list of running jobs means, against what D1
// says it holds. Pure, so every case is unit-tested.
import type { JobStatus } from "../../protocol/jobStatus.ts";

export interface HeldJob {
  id: string;
  status: JobStatus;
  attempt: number;
  /** Its secrets, sealed: a start sent again carries them (hub/jobSecrets.ts). */
  sealedSecrets?: string | null;
}

export interface Reconciliation {
  /** Held here but the daemon came back without them (it restarted): lost. */
  lost: HeldJob[];
  /** Reported by the daemon but no longer its own (ended, or given to another): stop them. */
  cancel: string[];
  /** Still starting: the start may have been lost with the old connection (starting twice is a no-op). */
  start: HeldJob[];
}

export function reconcileRunning(held: readonly HeldJob[], reported: readonly string[]): Reconciliation {
  const reportedIds = new Set(reported);
  const heldById = new Map(held.map((job) => [job.id, job]));
  return {
    lost: held.filter((job) => !reportedIds.has(job.id)),
    cancel: [...reportedIds].filter((id) => !heldById.has(id)),
    start: held.filter((job) => job.status === "starting" && reportedIds.has(job.id)),
  };
}
