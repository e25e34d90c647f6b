// A job's live and stored output: its log as server-sent events, the metrics it
// reports in that log, and its files.
import { createRoute, z } from "@hono/zod-openapi";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { reportedMetricLimits } from "../../protocol/limits.ts";
import { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { outputObjectKey } from "../../protocol/uploads.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { jobRoomOf } from "../bindings/objects.ts";
import { serveStoredFile } from "../http/download.ts";
import { apiErrorFromData, notFound } from "../errors/problem.ts";
import { findJob } from "../jobs/repository.ts";
import { SSE_HEADERS } from "../rooms/sse.ts";
import { bearer, createRouter, problems } from "./openapi.ts";

const logsRoute = createRoute({
  method: "get",
  path: "/{id}/logs",
  operationId: "getJobLogs",
  summary: "Stream a job's output as server-sent events (`log`, `status`, `done`, `cut`)",
  description:
    "Every event has an id. Opened without `Last-Event-ID`, the stream starts with the tail so far; with it, with every event after that one the job's room still keeps. " +
    "It ends with `done` once the job has ended; a reader that falls too far behind gets `cut` and resumes with `Last-Event-ID`. " +
    "A job that has ended with nothing left to send answers 204, so EventSource clients stop reconnecting.",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: z.object({ id: z.string() }), headers: z.object({ "last-event-id": z.string().optional() }) },
  responses: {
    200: { description: "An event stream", content: { "text/event-stream": { schema: z.string() } } },
    204: { description: "The job has ended and the reader has every event (its `Last-Event-ID` is the last one)" },
    401: problems[401],
    404: problems[404],
    429: problems[429],
  },
});

const reportedMetricsRoute = createRoute({
  method: "get",
  path: "/{id}/reported-metrics",
  operationId: "getJobReportedMetrics",
  summary: "The metrics a job reported in its output, every point kept",
  description:
    "A job reports metrics by writing lines such as `POND_METRICS {\"step\": 3, \"loss\": 0.21}` to its output (a JSON object of names and numbers; `step`, a whole number, is optional). " +
    "Each name's points are kept in the order reported; a step reported again replaces it and every later one (a run resumed from a checkpoint), " +
    `and past ${reportedMetricLimits.maxPointsPerName} points one of every two is let go, the newest always kept. ` +
    "Lines that start with POND_METRICS but cannot be read are counted under `ignored`, with the latest reason. Like the log, these are the provider's report, not proven.",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: {
    params: z.object({ id: z.string() }),
    query: z.object({ names: z.string().optional().meta({ description: "Only these names, comma-separated" }) }),
  },
  responses: {
    200: { description: "Each name's points", content: { "application/json": { schema: ReportedMetrics } } },
    401: problems[401],
    404: problems[404],
  },
});

const outputRoute = createRoute({
  method: "get",
  path: "/{id}/outputs/{path}",
  operationId: "getJobOutput",
  summary: "Download one output file named in the job's manifest",
  description:
    "The ETag is the file's sha256 (also in `x-pond-sha256`): `If-None-Match` with it answers 304. One byte range (`Range: bytes=first-`, `first-last` or `-suffix`) answers 206, so an interrupted download resumes (`curl -C -`); " +
    "a range past the end answers 416 with `Content-Range: bytes */<size>`. With `If-Range` naming another ETag, or several ranges, the whole file is sent.",
  security: bearer,
  request: {
    params: z.object({ id: z.string(), path: z.string() }),
    headers: z.object({ range: z.string().optional(), "if-range": z.string().optional(), "if-none-match": z.string().optional() }),
  },
  responses: {
    200: { description: "The file", content: { "application/octet-stream": { schema: z.string() } } },
    206: { description: "The range asked for, placed by `Content-Range`", content: { "application/octet-stream": { schema: z.string() } } },
    304: { description: "The client's copy (its `If-None-Match`) is this file" },
    401: problems[401],
    404: problems[404],
    416: problems[416],
  },
});

// Mounted beside jobs.ts under /v1/jobs: every route names its own authentication
// (a router-wide `use("*")` here would run for jobs.ts's routes too).
const router = createRouter();

export const jobStreamRoutes = router
  .openapi(logsRoute, async (c) => {
    const job = await findJob(c.get("db"), c.get("account"), c.req.valid("param").id);
    if (!job) throw notFound("job");
    const lastEventId = c.req.valid("header")["last-event-id"] ?? null;
    const answer = await jobRoomOf(c.env, job.id).openLogStream({ storedStatus: job.status as JobStatus, storedTail: job.logsTail, lastEventId });
    if (answer.kind === "refused") throw apiErrorFromData(answer.error);
    if (answer.kind === "nothing-left") return c.body(null, 204);
    return new Response(answer.body, { headers: SSE_HEADERS });
  })
  .openapi(reportedMetricsRoute, async (c) => {
    const job = await findJob(c.get("db"), c.get("account"), c.req.valid("param").id);
    if (!job) throw notFound("job");
    const names = c.req.valid("query").names?.split(",").map((name) => name.trim()).filter((name) => name !== "");
    const reported = await jobRoomOf(c.env, job.id).reportedSeries(names);
    return c.json({ job_id: job.id, ...reported }, 200);
  })
  // `{path}` in the OpenAPI document; the router matches nested paths with a regex.
  .get("/:id/outputs/:path{.+}", requireApiKey, async (c) => {
    const job = await findJob(c.get("db"), c.get("account"), c.req.param("id"));
    if (!job) throw notFound("job");
    const path = c.req.param("path");
    const file = (job.output as OutputManifest | null)?.files.find((f) => f.path === path);
    if (!file) throw notFound(`output ${path}`);
    const stored = { key: outputObjectKey(job.id, path, file.sha256), sha256: file.sha256, size: file.size, filename: path.split("/").pop()!, description: `output ${path}` };
    return serveStoredFile(c.req.raw, c.env.OUTPUTS, stored);
  });

// Documented only: the handler above serves it.
router.openAPIRegistry.registerPath(outputRoute);
