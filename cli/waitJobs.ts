// `pond jobs wait`: many detached jobs (a sweep of hyperparameters, say) waited
// for together. Each pass reads the jobs still open a few at a time, and the
// pause between passes grows, so a long wait for many jobs asks little of the API.
import type { Job } from "../protocol/job.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
import { PondApiError } from "../sdk/index.ts";
import { exitCodeOf } from "./errors.ts";
import { exitCodes } from "./exitCodes.ts";
import { terminalText } from "./terminalText.ts";

export interface JobReader {
  getJob(id: string): Promise<Job>;
}

export interface WaitOptions {
  /** Give up after this long (the jobs go on); none: until every job ends. */
  timeoutMs?: number;
  /** Called once for each job, as it is seen ended. */
  onEnded?: (job: Job) => void;
  firstPauseMs?: number;
  maxPauseMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface WaitOutcome {
  /** In the order the ids were given. */
  jobs: Job[];
  /** Ids of the jobs that had not ended when the wait gave up. */
  open: string[];
}

const READS_AT_ONCE = 8;
/** Passes in a row in which the API could not be read before the wait gives up: with the pause grown to 5 s, about a minute. */
const MAX_FAILED_PASSES = 12;

/** The API unreachable or failing (5xx, a dropped connection): worth reading again later, unlike a 404. */
export const isTransient = (error: unknown) => exitCodeOf(error) === exitCodes.unreachable || (error instanceof PondApiError && error.status === 429);

export async function waitForJobs(reader: JobReader, ids: readonly string[], options: WaitOptions = {}): Promise<WaitOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
  const latest = new Map<string, Job>();
  let open = [...new Set(ids)];
  let pause = options.firstPauseMs ?? 500;
  let failedPasses = 0;
  for (;;) {
    // A long wait outlives a blip in the API: a job that could not be read stays open until the next pass.
    let lastFailure: unknown;
    for (let i = 0; i < open.length; i += READS_AT_ONCE) {
      const batch = open.slice(i, i + READS_AT_ONCE);
      const read = await Promise.all(batch.map((id) => reader.getJob(id).catch((error: unknown) => (isTransient(error) ? ((lastFailure = error), undefined) : Promise.reject(error)))));
      read.forEach((job, k) => {
        if (!job) return;
        latest.set(batch[k]!, job);
        if (isTerminal(job.status)) options.onEnded?.(job);
      });
    }
    failedPasses = lastFailure === undefined ? 0 : failedPasses + 1;
    if (failedPasses >= MAX_FAILED_PASSES) throw lastFailure;
    open = open.filter((id) => !isTerminal(latest.get(id)?.status ?? "queued"));
    if (open.length === 0 || now() >= deadline) break;
    await sleep(Math.min(pause, deadline - now()));
    pause = Math.min(pause * 1.5, options.maxPauseMs ?? 5_000);
  }
  // A job never read yet (the API failing from the first pass until the timeout) cannot be shown: that failure is the answer.
  if (ids.some((id) => !latest.has(id))) throw new Error("the API could not be read for these jobs before the wait's timeout");
  return { jobs: [...new Set(ids)].map((id) => latest.get(id)!), open };
}

/** The line printed as a job is seen ended: how, with its exit code and error, or why it was canceled. */
export function endedLine(job: Job): string {
  const exit = job.exit_code === null || job.exit_code === undefined ? "" : ` (exit ${job.exit_code})`;
  const why = job.error ?? (job.status === "canceled" ? job.status_detail : null);
  return `${job.id} ${job.status}${exit}${why ? `: ${terminalText(why)}` : ""}`;
}
