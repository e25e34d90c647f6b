// Follows a job's log to its end, through dropped connections: a stream that
// ends without the server's `done` event is reopened until the job is terminal.
// Each new stream starts by replaying the log's tail, so what was already
// printed is skipped.
import type { Job } from "../protocol/job.ts";
import { isTerminal, type JobStatus } from "../protocol/jobStatus.ts";
import { unseenOutput } from "../protocol/logReplay.ts";
import { PondApiError, type PondClient } from "../sdk/index.ts";

export { unseenOutput };

/** How much printed output is remembered to line up a replayed tail. */
const REMEMBERED_CHARS = 256 * 1024;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

export interface FollowOptions {
  write(text: string): void;
  /** Told when the stream dropped and is being reopened. */
  onReconnect?(error: unknown): void;
  /** Told of the job as it stands, about every second until its container runs (where it waits, pull progress). */
  onStatus?(job: Job): void;
}

const STATUS_EVERY_MS = 1_000;

/** Prints the job's output until it ends; resolves with the job as it ended. */
export async function followLogs(sdk: PondClient, jobId: string, options: FollowOptions): Promise<Job> {
  const watching = options.onStatus ? watchUntilRunning(sdk, jobId, options.onStatus) : undefined;
  try {
    return await follow(sdk, jobId, options);
  } finally {
    watching?.stop();
  }
}

/** The log stream says nothing before the container starts: the job itself says why it waits. */
function watchUntilRunning(sdk: PondClient, jobId: string, onStatus: (job: Job) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    const job = await sdk.getJob(jobId).catch(() => undefined);
    if (stopped) return;
    if (job) onStatus(job);
    if (!job || job.status === "queued" || job.status === "starting") timer = setTimeout(() => void look(), STATUS_EVERY_MS);
  };
  void look();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

async function follow(sdk: PondClient, jobId: string, options: FollowOptions): Promise<Job> {
  let printed = "";
  const print = (text: string) => {
    if (text.length === 0) return;
    options.write(text);
    printed = (printed + text).slice(-REMEMBERED_CHARS);
  };
  for (let attempt = 0; ; attempt++) {
    let firstLog = true;
    let dropped: unknown;
    try {
      for await (const event of sdk.streamLogs(jobId)) {
        if (event.event === "log") {
          const data = (event.data as { data: string }).data;
          // Only a reopened stream's first event is a replay of output already seen.
          print(firstLog && attempt > 0 ? unseenOutput(printed, data) : data);
          firstLog = false;
        } else if (event.event === "done") {
          return await sdk.getJob(jobId);
        }
      }
    } catch (error) {
      // A refusal (not found, not yours) will not change; anything else is worth another try.
      if (error instanceof PondApiError && error.status < 500 && error.status !== 429) throw error;
      dropped = error;
    }
    const job = await sdk.getJob(jobId);
    if (isTerminal(job.status as JobStatus)) {
      // Output that came after the drop: the job's stored log ends with it.
      print(unseenOutput(printed, job.logs ?? ""));
      return job;
    }
    options.onReconnect?.(dropped);
    await new Promise((resolve) => setTimeout(resolve, Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 5))));
  }
}
