// A job's log followed to its end, for the dashboard: `GET /v1/jobs/:id/logs`
// read with fetch, reopened when it drops or is cut (for falling behind) with
// the id of the last event shown, so it goes on after it; a 204 means the job
// has ended and everything was shown. A stream opened without an id starts
// with the tail again: only what is not shown yet is added. Apart from the
// page's hook (useLiveLog.ts) so it can be tested without a page.
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { LogChunk, StatusChange } from "../../protocol/logEvents.ts";
import { unseenOutput } from "../../protocol/logReplay.ts";
import { ApiProblem } from "../api/http.ts";
import { readEventStream } from "../api/eventStream.ts";

/** The page keeps this much output; the job object keeps the tail anyway. */
const SHOWN_CHARS = 512 * 1024;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export type LogState = "connecting" | "live" | "reconnecting" | "ended" | "refused";

export interface LogFollower {
  /** Opens the stream, after `lastEventId` when there is one. */
  open(lastEventId: string | undefined, signal: AbortSignal): Promise<Response>;
  text(shown: string): void;
  status(status: JobStatus): void;
  state(state: LogState, error?: string): void;
  sleep?(ms: number): Promise<void>;
}

export async function followLog(follower: LogFollower, signal: AbortSignal): Promise<void> {
  const sleep = follower.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let shown = "";
  const show = (chunk: string) => {
    if (chunk.length === 0) return;
    shown = (shown + chunk).slice(-SHOWN_CHARS);
    follower.text(shown);
  };
  let lastEventId: string | undefined;
  for (let attempt = 0; !signal.aborted; attempt++) {
    let replay = lastEventId === undefined;
    let ended = false;
    let cut = false;
    try {
      const response = await follower.open(lastEventId, signal);
      if (response.status === 204 || !response.body) return follower.state("ended");
      follower.state("live");
      await readEventStream(response.body, (event) => {
        if (event.event === "log") {
          const { data } = LogChunk.parse(JSON.parse(event.data));
          show(replay ? unseenOutput(shown, data) : data);
          replay = false;
        } else if (event.event === "status" || event.event === "done") {
          const { status } = StatusChange.parse(JSON.parse(event.data));
          if (event.event === "done") ended = true;
          follower.status(status);
        } else if (event.event === "cut") {
          cut = true;
        }
        if (event.id !== undefined) lastEventId = event.id;
      });
    } catch (failure) {
      if (signal.aborted) return;
      // Not found or not yours will not change by asking again.
      if (failure instanceof ApiProblem && failure.status < 500 && failure.status !== 429) return follower.state("refused", failure.message);
    }
    if (ended) return follower.state("ended");
    follower.state("reconnecting");
    // A cut stream is read again at once: the room keeps what came since.
    if (!cut) await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 5)));
  }
}
