// The events of `GET /v1/jobs/:id/logs` (text/event-stream), as clients read them:
// `log` carries output (the first one after connecting is the tail so far),
// `status` a status change, `done` the final status.
import { z } from "zod";
import { JobStatus } from "./jobStatus.ts";

export const LogChunk = z.object({ data: z.string() });
export const StatusChange = z.object({ status: JobStatus });
