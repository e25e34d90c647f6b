// How the jobs of a run ended, read back from the API itself: their status and
// the server's own timestamps (created_at, metrics.queue_ms = created → assigned,
// pull_ms = assigned → running, completed_at), not the client's guesses.
import type { Job } from "../../protocol/job.ts";
import { isTerminal } from "../../protocol/jobStatus.ts";
import type { PondClient } from "../../sdk/index.ts";

const OPEN = ["queued", "starting", "processing"] as const;

/** Jobs still open across all creators (at most 100 per creator and status are counted). */
export async function openJobs(creators: PondClient[]): Promise<number> {
  const pages = await Promise.all(creators.flatMap((client) => OPEN.map((status) => client.listJobs({ status, limit: 100 }))));
  return pages.reduce((sum, page) => sum + page.results.length, 0);
}

/** How often the API is asked while a hint says jobs are still running: the asking loads the server being measured. */
const ASK_EVERY_MS = 5_000;

/**
 * Waits until no job is open or the deadline passes; how many were still open then. `looksDone`
 * (the fleet's own count of results acknowledged) is asked often and costs the server nothing;
 * the API is asked when it says yes, and every few seconds in case jobs end without a result.
 */
export async function waitUntilAllEnded(creators: PondClient[], timeoutMs: number, looksDone: () => Promise<boolean> = async () => true): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let askedAt = 0;
  for (;;) {
    if ((await looksDone()) || Date.now() - askedAt > ASK_EVERY_MS || Date.now() > deadline) {
      askedAt = Date.now();
      const open = await openJobs(creators);
      if (open === 0 || Date.now() > deadline) return open;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The jobs with these ids, each creator's list read newest first until all of its are found. */
export async function readJobs(creators: PondClient[], ids: ReadonlyArray<{ id: string; creator: number }>): Promise<Job[]> {
  const found: Job[] = [];
  await Promise.all(
    creators.map(async (client, creator) => {
      const wanted = new Set(ids.filter((job) => job.creator === creator).map((job) => job.id));
      let cursor: string | undefined;
      while (wanted.size > 0) {
        const page = await client.listJobs({ limit: 100, ...(cursor ? { cursor } : {}) });
        for (const job of page.results) if (wanted.delete(job.id)) found.push(job);
        const next = page.next ? new URL(page.next).searchParams.get("cursor") : null;
        if (!next) break;
        cursor = next;
      }
      // Not in the list (should not happen): read one by one, so every job is accounted for.
      for (const id of wanted) found.push(await client.getJob(id));
    }),
  );
  return found;
}

export interface Outcomes {
  created: number;
  succeeded: number;
  failed: number;
  other: Record<string, number>;
  open: number;
  /** Why jobs that did not succeed ended (or wait), with how many each. */
  reasons: Record<string, number>;
  /** More than one attempt: requeued after a provider was lost. */
  requeued: number;
}

export function outcomesOf(jobs: readonly Job[]): Outcomes {
  const outcomes: Outcomes = { created: jobs.length, succeeded: 0, failed: 0, other: {}, open: 0, reasons: {}, requeued: 0 };
  for (const job of jobs) {
    if (job.attempt > 1) outcomes.requeued += 1;
    if (job.status === "succeeded") outcomes.succeeded += 1;
    else if (job.status === "failed") outcomes.failed += 1;
    else if (isTerminal(job.status)) outcomes.other[job.status] = (outcomes.other[job.status] ?? 0) + 1;
    else outcomes.open += 1;
    if (job.status !== "succeeded") {
      const reason = `${job.status}: ${job.error ?? job.status_detail ?? "(no reason given)"}`;
      outcomes.reasons[reason] = (outcomes.reasons[reason] ?? 0) + 1;
    }
  }
  return outcomes;
}

/** Server-side timings of the succeeded jobs, in ms. */
export function timingsOf(jobs: readonly Job[]) {
  const done = jobs.filter((job) => job.status === "succeeded" && job.metrics.queue_ms !== null && job.metrics.pull_ms !== null && job.completed_at);
  return {
    queueToAssigned: done.map((job) => job.metrics.queue_ms!),
    createToRunning: done.map((job) => job.metrics.queue_ms! + job.metrics.pull_ms!),
    createToResult: done.map((job) => Date.parse(job.completed_at!) - Date.parse(job.created_at)),
  };
}

/**
 * Jobs per second that reached `succeeded` while the load was steady: completions between
 * `from` and `to` (wall clock), over that window. A server that keeps up completes at the
 * offered rate; one that does not, at what it can.
 */
export function sustainedRate(jobs: readonly Job[], from: number, to: number): number {
  const completed = jobs.filter((job) => job.status === "succeeded" && job.completed_at && Date.parse(job.completed_at) >= from && Date.parse(job.completed_at) < to).length;
  return completed / ((to - from) / 1000);
}
