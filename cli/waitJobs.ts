// `pond jobs wait`: many detached jobs (a sweep of hyperparameters, say) waited
// for together. Each pass reads the jobs still open a few at a time, and the
// pause between passes grows, so a long wait for many jobs asks little of the API.
import type { Job } from "../protocol/job.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
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

export async function waitForJobs(reader: JobReader, ids: readonly string[], options: WaitOptions = {}): Promise<WaitOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = options.timeoutMs === undefined ? Infinity : now() + options.timeoutMs;
  const latest = new Map<string, Job>();
  let open = [...new Set(ids)];
  let pause = options.firstPauseMs ?? 500;
  for (;;) {
    for (let i = 0; i < open.length; i += READS_AT_ONCE) {
      const batch = open.slice(i, i + READS_AT_ONCE);
      const read = await Promise.all(batch.map((id) => reader.getJob(id)));
      read.forEach((job, k) => {
        latest.set(batch[k]!, job);
        if (isTerminal(job.status)) options.onEnded?.(job);
      });
    }
    open = open.filter((id) => !isTerminal(latest.get(id)!.status));
    if (open.length === 0 || now() >= deadline) break;
    await sleep(Math.min(pause, deadline - now()));
    pause = Math.min(pause * 1.5, options.maxPauseMs ?? 5_000);
  }
  return { jobs: [...new Set(ids)].map((id) => latest.get(id)!), open };
}

/** The line printed as a job is seen ended: how, with its exit code and error. */
export function endedLine(job: Job): string {
  const exit = job.exit_code === null || job.exit_code === undefined ? "" : ` (exit ${job.exit_code})`;
  return `${job.id} ${job.status}${exit}${job.error ? `: ${terminalText(job.error)}` : ""}`;
}
