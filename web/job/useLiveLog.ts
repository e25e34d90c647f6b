// A running job's output as it arrives, for the job page (followLog.ts): the
// key goes in the Authorization header, which EventSource cannot send.
import { useEffect, useState } from "hono/jsx/dom";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { apiRequest } from "../api/http.ts";
import { followLog, type LogState } from "./followLog.ts";

export type { LogState };

export function useLiveLog(jobId: string, onStatus: (status: JobStatus) => void): { text: string; state: LogState; error?: string } {
  const [text, setText] = useState("");
  const [state, setState] = useState<LogState>("connecting");
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    void followLog(
      {
        open: (lastEventId, signal) =>
          apiRequest(`/v1/jobs/${encodeURIComponent(jobId)}/logs`, {
            auth: true,
            headers: { accept: "text/event-stream", ...(lastEventId !== undefined ? { "last-event-id": lastEventId } : {}) },
            signal,
          }),
        text: setText,
        status: onStatus,
        state: (next, failure) => {
          if (failure !== undefined) setError(failure);
          setState(next);
        },
      },
      controller.signal,
    );
    return () => controller.abort();
  }, [jobId]);

  return { text, state, ...(error ? { error } : {}) };
}
