// POST /v1/jobs/batch: several jobs created as one, all of them or none. A sweep's
// grid is the use: one bad point, a job key used twice or an escrow that cannot
// cover them together leaves nothing half-made, and one round trip creates them.
import { createRoute, z } from "@hono/zod-openapi";
import { JobBatch } from "../../protocol/job.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { Problem } from "../../protocol/problem.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { ApiError, conflict, unprocessable, type FieldError } from "../errors/problem.ts";
import { validationError } from "../errors/validation.ts";
import { jobContextOf } from "../http/context.ts";
import { idempotency } from "../http/idempotency.ts";
import { findJob } from "../jobs/repository.ts";
import { serializeJob } from "../jobs/serialize.ts";
import { resolveAll } from "../matching/dependents.ts";
import { CreateJobBody, meantShape } from "./jobRequestBody.ts";
import { buildNewJob, writeNewJobs, type BuiltJob } from "./newJobs.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const CreateJobBatchBody = z
  .object({
    jobs: z.array(CreateJobBody).min(1).max(jobLimits.maxBatchJobs, `may hold at most ${jobLimits.maxBatchJobs} jobs: send several batches`),
  })
  .meta({ id: "CreateJobBatch" });

const createJobBatchRoute = createRoute({
  method: "post",
  path: "/batch",
  operationId: "createJobBatch",
  summary: "Create several jobs, all or none",
  description:
    `Up to ${jobLimits.maxBatchJobs} jobs, each as POST /v1/jobs takes one (a spec or a template run, each with its own \`authorization\` where jobs settle on chain), ` +
    "created together: if any is refused, none is created and the problem names it (`jobs.N…` in `errors`). Paid jobs are admitted against the escrow together, so it must cover all of their max prices at once. " +
    "The answer lists the jobs in the order sent. `Idempotency-Key` makes retries safe.",
  security: bearer,
  middleware: [requireApiKey, idempotency] as const,
  request: {
    headers: z.object({ "idempotency-key": z.string().optional() }),
    body: { required: true, content: { "application/json": { schema: CreateJobBatchBody } } },
  },
  responses: {
    201: jsonContent(JobBatch, "Jobs created"),
    400: problems[400],
    401: problems[401],
    402: { description: "The escrow does not cover the jobs' max prices together", content: { "application/problem+json": { schema: Problem } } },
    409: problems[409],
    413: problems[413],
    415: problems[415],
    422: problems[422],
  },
});

export const jobBatchRoutes = createRouter().openapi(
  createJobBatchRoute,
  async (c) => {
    const requests = c.req.valid("json").jobs;
    const ctx = jobContextOf(c);
    refuseRepeatedKeys(requests);
    const outcomes = await Promise.allSettled(requests.map((request) => buildNewJob(c, request, undefined)));
    const built = outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : undefined));
    if (built.some((job) => job === undefined)) throw refusalOf(outcomes);
    const jobs = built as BuiltJob[];
    const rows = await writeNewJobs(c, ctx, jobs, undefined);
    // A source that ended between the checks and the insert told no dependent: those are resolved here (else by the sweeper).
    const waits = (i: number) => jobs[i]!.sources !== undefined && !jobs[i]!.sources!.resolved;
    const waiting = rows.filter((_, i) => waits(i));
    if (waiting.length > 0) await resolveAll(ctx, waiting.map((row) => row.id));
    const current = await Promise.all(rows.map(async (row, i) => (waits(i) ? ((await findJob(c.get("db"), c.get("account"), row.id)) ?? row) : row)));
    return c.json({ jobs: current.map((row) => serializeJob(row, c.get("baseUrl"))) }, 201);
  },
  (result) => {
    if (!result.success) throw validationError(result.error, result.target === "json" ? "request body" : result.target, meantShape);
    return undefined;
  },
);

/** Two jobs of one batch with the same authorization would both be refused by the index; said before anything is checked. */
function refuseRepeatedKeys(requests: readonly CreateJobBody[]): void {
  const first = new Map<string, number>();
  requests.forEach((request, i) => {
    const key = request.authorization?.job_key;
    if (key === undefined) return;
    const earlier = first.get(key);
    if (earlier !== undefined) throw conflict("job-key-used", `jobs.${earlier} and jobs.${i} carry the same authorization job_key: every job needs a fresh random key`);
    first.set(key, i);
  });
}

/**
 * Why the batch was refused, naming its jobs. Refusals of what jobs say (422) are gathered into one problem, each
 * field under its job (`jobs.3.spec.image`); any other refusal (a template not found, an escrow short) is the first
 * job's that had one, said with its place.
 */
function refusalOf(outcomes: readonly PromiseSettledResult<BuiltJob>[]): unknown {
  const refused = outcomes.flatMap((outcome, i) => (outcome.status === "rejected" ? [{ i, error: outcome.reason as unknown }] : []));
  const other = refused.find(({ error }) => !(error instanceof ApiError) || error.status !== 422);
  if (other) {
    const { i, error } = other;
    if (!(error instanceof ApiError)) return error;
    return new ApiError(error.status, error.slug, error.title, `jobs.${i}: ${error.message}`, error.errors?.map((field) => ({ ...field, path: `jobs.${i}.${field.path}` })), error.headers);
  }
  const fields: FieldError[] = refused.flatMap(({ i, error }) => {
    const problem = error as ApiError;
    return problem.errors?.length ? problem.errors.map((field) => ({ path: `jobs.${i}.${field.path}`, message: field.message })) : [{ path: `jobs.${i}`, message: problem.message }];
  });
  const details = refused.map(({ i, error }) => `jobs.${i}: ${(error as ApiError).message}`);
  return unprocessable(`${refused.length} of the batch's ${outcomes.length} jobs ${refused.length === 1 ? "was" : "were"} refused, so none was created; ${details.slice(0, 3).join("; ")}${details.length > 3 ? "; …" : ""}`, fields);
}
