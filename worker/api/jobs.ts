// Jobs: create, read, list, cancel, and the live views of one job.
import { createRoute, z } from "@hono/zod-openapi";
import { CancelJobRequest, canceledByCreator, Job, JobPage, JobTransitions } from "../../protocol/job.ts";
import { JobStatus } from "../../protocol/jobStatus.ts";
import { LabelFilter } from "../../protocol/labels.ts";
import { labelLimits } from "../../protocol/limits.ts";
import { Problem } from "../../protocol/problem.ts";
import { eq } from "drizzle-orm";
import { keyCheckedInBatch, requireApiKey, requireApiKeyInBatch, requireApiKeyWith } from "../auth/requireApiKey.ts";
import { jobs } from "../db/schema.ts";
import { jobRoomOf } from "../bindings/objects.ts";
import { jobContextOf } from "../http/context.ts";
import { idempotency } from "../http/idempotency.ts";
import { emptyBodyIsNone } from "../http/requestGuards.ts";
import { parsePreferWait } from "../http/preferWait.ts";
import { conflict, notFound, unprocessable } from "../errors/problem.ts";
import { validationError } from "../errors/validation.ts";
import { decodeCursor, encodeCursor, paginate, type Cursor } from "../db/cursor.ts";
import { findJob, listJobRows, listTransitions } from "../jobs/repository.ts";
import { serializeJob, type JobRow } from "../jobs/serialize.ts";
import { IllegalTransitionError } from "../jobs/stateMachine.ts";
import { CreateJobBody, meantShape } from "./jobRequestBody.ts";
import { buildNewJob, writeNewJobs } from "./newJobs.ts";
import { transitionJob } from "../jobs/transitions.ts";
import { resolveAndHandOver } from "../matching/dependents.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const JobIdParam = z.object({ id: z.string().max(64) });

const createJobRoute = createRoute({
  method: "post",
  path: "/",
  operationId: "createJob",
  summary: "Create a job",
  description:
    "Queues a container job, from a spec or from a template (`template`, `params`: see /v1/templates). `Idempotency-Key` makes retries safe; `Prefer: wait=N` (N ≤ 60) holds the response until the job finishes or N seconds pass. " +
    "Where jobs settle on chain, `authorization` (see GET /v1/chain) is required, and a creator may challenge a result: a mediator re-runs the job and compares result hashes, so a job that declares no comparison and whose outputs are not deterministic loses a challenge. " +
    "A job whose outputs are numbers or labels that differ a little from machine to machine (most ML jobs) declares `verify: {mode: \"tolerant\", files: [...]}`: the mediator then compares the two sets of outputs under those rules and its signed verdict settles the challenge (see VerifySpec).",
  security: bearer,
  // The key is checked in the same D1 batch that writes the job: one round trip for both.
  middleware: [requireApiKeyInBatch, idempotency] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().optional(), prefer: z.string().optional() }),
    body: { required: true, content: { "application/json": { schema: CreateJobBody } } },
  },
  responses: {
    201: jsonContent(Job, "Job created"),
    400: problems[400],
    401: problems[401],
    402: { description: "The escrow does not cover max_price_wei", content: { "application/problem+json": { schema: Problem } } },
    409: problems[409],
    413: problems[413],
    415: problems[415],
    422: problems[422],
  },
});

const getJobRoute = createRoute({
  method: "get",
  path: "/{id}",
  operationId: "getJob",
  summary: "Get a job",
  security: bearer,
  // The job is read in the same D1 round trip as the key.
  middleware: [requireApiKeyWith((c) => c.get("db").select().from(jobs).where(eq(jobs.id, c.req.param("id") ?? "")))] as const,
  request: { params: JobIdParam },
  responses: { 200: jsonContent(Job, "The job"), 401: problems[401], 404: problems[404] },
});

const listJobsRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "listJobs",
  summary: "List your jobs, newest first",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: {
    query: z.object({
      status: JobStatus.optional(),
      // Repeated, every one must match. One given comes as a string, several as an array: a list either way, so an error names the bad one.
      label: z
        .preprocess((given) => (given === undefined ? [] : [given].flat()), z.array(LabelFilter).max(labelLimits.maxFilters, `may be given at most ${labelLimits.maxFilters} times`))
        .openapi({ type: "array", items: { type: "string" }, description: `key=value: only jobs carrying that label (repeatable, up to ${labelLimits.maxFilters}: jobs carrying all of them)` }),
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().max(200).optional(),
    }),
  },
  responses: { 200: jsonContent(JobPage, "A page of jobs"), 401: problems[401], 422: problems[422] },
});

const cancelJobRoute = createRoute({
  method: "post",
  path: "/{id}/cancel",
  operationId: "cancelJob",
  summary: "Cancel a job",
  security: bearer,
  middleware: [requireApiKey, idempotency, emptyBodyIsNone] as const,
  description: "A body is optional: `{\"reason\": \"…\"}` puts why in the job's status_detail (`canceled by its creator: …`).",
  request: { params: JobIdParam, body: { required: false, content: { "application/json": { schema: CancelJobRequest } } } },
  responses: { 200: jsonContent(Job, "The canceled job"), 422: problems[422], 401: problems[401], 404: problems[404], 409: problems[409] },
});

const transitionsRoute = createRoute({
  method: "get",
  path: "/{id}/transitions",
  operationId: "listJobTransitions",
  summary: "Every status change of a job, with its time",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: JobIdParam },
  responses: {
    200: jsonContent(JobTransitions, "Transitions"),
    401: problems[401],
    404: problems[404],
  },
});

// Each route names its own authentication, so the one read can batch its query with the key lookup.
export const jobRoutes = createRouter()
  .openapi(createJobRoute, async (c) => {
    const ctx = jobContextOf(c);
    const keyCheck = keyCheckedInBatch(c, ctx.db);
    const built = await buildNewJob(c, c.req.valid("json"), keyCheck);
    let row = (await writeNewJobs(c, ctx, [built], keyCheck))[0]!;
    const account = row.account as `0x${string}`;
    if (built.sources && !built.sources.resolved) {
      // A source that ended between the check and the insert told no dependent: this one is resolved here (else by the sweeper).
      await resolveAndHandOver(ctx, row.id);
      row = (await findJob(c.get("db"), account, row.id)) ?? row;
    }

    const waitS = parsePreferWait(c.req.valid("header").prefer);
    if (waitS !== undefined && waitS > 0) {
      await jobRoomOf(c.env, row.id).waitForTerminal(waitS * 1000);
      row = (await findJob(c.get("db"), account, row.id)) ?? row;
      c.header("preference-applied", `wait=${waitS}`);
    }
    c.header("location", `${c.get("baseUrl")}/v1/jobs/${row.id}`);
    return c.json(serializeJob(row, c.get("baseUrl")), 201);
  }, (result) => {
    if (!result.success) throw validationError(result.error, result.target === "json" ? "request body" : result.target, meantShape);
    return undefined;
  })
  .openapi(getJobRoute, async (c) => {
    const row = (c.get("preloaded") as JobRow[])[0];
    if (!row || row.account !== c.get("account")) throw notFound("job");
    return c.json(serializeJob(row, c.get("baseUrl")), 200);
  })
  .openapi(listJobsRoute, async (c) => {
    const query = c.req.valid("query");
    let cursor: Cursor | undefined;
    if (query.cursor !== undefined) {
      cursor = decodeCursor(query.cursor);
      if (!cursor) throw unprocessable("the cursor is not one this API gave out", [{ path: "cursor", message: "unknown cursor" }]);
    }
    const fetched = await listJobRows(c.get("db"), c.get("account"), { status: query.status, labels: query.label, limit: query.limit, cursor });
    const { rows, links } = paginate(fetched, query.limit, cursor);
    const pageUrl = (target: Cursor | undefined) => {
      if (!target) return null;
      const url = new URL(`${c.get("baseUrl")}/v1/jobs`);
      if (query.status) url.searchParams.set("status", query.status);
      for (const { key, value } of query.label) url.searchParams.append("label", `${key}=${value}`);
      url.searchParams.set("limit", String(query.limit));
      url.searchParams.set("cursor", encodeCursor(target));
      return url.toString();
    };
    return c.json(
      { results: rows.map((row) => serializeJob(row, c.get("baseUrl"))), next: pageUrl(links.next), previous: pageUrl(links.previous) },
      200,
    );
  })
  .openapi(cancelJobRoute, async (c) => {
    const { id } = c.req.valid("param");
    const existing = await findJob(c.get("db"), c.get("account"), id);
    if (!existing) throw notFound("job");
    try {
      const row = await transitionJob(jobContextOf(c), id, "canceled", { statusDetail: canceledByCreator(c.req.valid("json")?.reason) }, "api");
      return c.json(serializeJob(row, c.get("baseUrl")), 200);
    } catch (error) {
      if (error instanceof IllegalTransitionError) throw conflict("job-finished", error.message);
      throw error;
    }
  })
  .openapi(transitionsRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await findJob(c.get("db"), c.get("account"), id))) throw notFound("job");
    const rows = await listTransitions(c.get("db"), id);
    return c.json({ results: rows.map((r) => ({ from: r.from as JobStatus | null, to: r.to as JobStatus, detail: r.detail, at: new Date(r.at).toISOString() })) }, 200);
  });
