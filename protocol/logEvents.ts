// The events of `GET /v1/jobs/:id/logs` (text/event-stream), as clients read them.
// Every event has an id; a client that reconnects with `Last-Event-ID` gets what
// came after it (and a job that has ended, with nothing left to send, answers 204).
// `log` carries output: the first one on a stream opened without `Last-Event-ID`
// is the tail so far; `status` a status change; `done` the final status, last on
// the stream; `cut` ends the stream of a follower that fell too far behind (it
// resumes with `Last-Event-ID`). The stream opens with `retry:`, the reconnection
// delay EventSource clients should use.
import { z } from "zod";
import { JobStatus } from "./jobStatus.ts";

export const LogChunk = z.object({ data: z.string() });
export const StatusChange = z.object({ status: JobStatus });
export const StreamCut = z.object({ reason: z.literal("lagging"), detail: z.string() });
