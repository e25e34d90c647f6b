// A running job's output as it arrives: `GET /v1/jobs/:id/logs` read with fetch
// (the key goes in the Authorization header), reopened when it drops, until the
// server says `done`. A reopened stream starts with the tail again; only what
// was not shown yet is added.
import { useEffect, useState } from "hono/jsx/dom";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { LogChunk, StatusChange } from "../../protocol/logEvents.ts";
import { unseenOutput } from "../../protocol/logReplay.ts";
import { ApiProblem, apiRequest } from "../api/http.ts";
import { readEventStream } from "../api/eventStream.ts";

/** The page keeps this much output; the job object keeps the tail anyway. */
const SHOWN_CHARS = 512 * 1024;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export type LogState = "connecting" | "live" | "reconnecting" | "ended" | "refused";

export function useLiveLog(jobId: string, onStatus: (status: JobStatus) => void): { text: string; state: LogState; error?: string } {
  const [text, setText] = useState("");
  const [state, setState] = useState<LogState>("connecting");
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    let shown = "";
    const show = (chunk: string) => {
      shown = (shown + chunk).slice(-SHOWN_CHARS);
      setText(shown);
    };
    const follow = async () => {
      for (let attempt = 0; !controller.signal.aborted; attempt++) {
        let first = true;
        let ended = false;
        try {
          const response = await apiRequest(`/v1/jobs/${encodeURIComponent(jobId)}/logs`, { auth: true, headers: { accept: "text/event-stream" }, signal: controller.signal });
          setState("live");
          await readEventStream(response.body!, (event) => {
            if (event.event === "log") {
              const { data } = LogChunk.parse(JSON.parse(event.data));
              show(first ? unseenOutput(shown, data) : data);
              first = false;
            } else if (event.event === "status" || event.event === "done") {
              const { status } = StatusChange.parse(JSON.parse(event.data));
              if (event.event === "done") ended = true;
              onStatus(status);
            }
          });
        } catch (failure) {
          if (controller.signal.aborted) return;
          // Not found or not yours will not change by asking again.
          if (failure instanceof ApiProblem && failure.status < 500 && failure.status !== 429) {
            setError(failure.message);
            setState("refused");
            return;
          }
        }
        if (ended) return setState("ended");
        setState("reconnecting");
        await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 5))));
      }
    };
    void follow();
    return () => controller.abort();
  }, [jobId]);

  return { text, state, ...(error ? { error } : {}) };
}
