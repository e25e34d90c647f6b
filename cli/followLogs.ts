// Follows a job's log to its end, through dropped connections: a stream that
// ends without the server's `done` event (dropped, or cut for falling behind)
// is reopened with the id of the last event printed, and goes on after it. A
// stream opened without one starts by replaying the log's tail, so what was
// already printed is skipped.
import type { Job } from "../protocol/job.ts";
import { isTerminal, type JobStatus } from "../protocol/jobStatus.ts";
import { LogChunk, StreamCut } from "../protocol/logEvents.ts";
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
  let lastEventId: string | undefined;
  for (let attempt = 0; ; attempt++) {
    // Only a stream reopened without an id starts with output already printed.
    let replay = attempt > 0 && lastEventId === undefined;
    let events = 0;
    let dropped: unknown;
    try {
      for await (const event of sdk.streamLogs(jobId, lastEventId === undefined ? {} : { lastEventId })) {
        events += 1;
        if (event.event === "log") {
          const { data } = LogChunk.parse(event.data);
          print(replay ? unseenOutput(printed, data) : data);
          replay = false;
        } else if (event.event === "done") {
          return await sdk.getJob(jobId);
        } else if (event.event === "cut") {
          dropped = new Error(StreamCut.parse(event.data).detail);
        }
        if (event.id !== undefined) lastEventId = event.id;
      }
    } catch (error) {
      // A refusal (not found, not yours) will not change; anything else is worth another try.
      if (error instanceof PondApiError && error.status < 500 && error.status !== 429) throw error;
      dropped = error;
    }
    const job = await sdk.getJob(jobId);
    const ended = isTerminal(job.status as JobStatus);
    // Nothing more to come (the server answered 204 to our id), or no id to ask after:
    // the job's stored log ends with whatever came after the drop.
    if (ended && (events === 0 || lastEventId === undefined)) {
      print(unseenOutput(printed, job.logs ?? ""));
      return job;
    }
    options.onReconnect?.(dropped);
    // An ended job's room has the rest: ask at once.
    if (!ended) await new Promise((resolve) => setTimeout(resolve, Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 5))));
  }
}
