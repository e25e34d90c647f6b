// POST /v1/jobs/batch: several jobs created as one, all of them or none. A sweep's
// grid is the use: one bad point, a job key used twice or an escrow that cannot
// cover them together leaves nothing half-made, and one round trip creates them.
import { createRoute, z } from "@hono/zod-openapi";
import { JobBatch } from "../../protocol/job.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { MIN_OTHERS, MIN_STOP_EARLY_JOBS, StopEarly } from "../../protocol/stopEarly.ts";
import { Problem } from "../../protocol/problem.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { sweepJudgeOf } from "../bindings/objects.ts";
import { ApiError, unprocessable, type FieldError } from "../errors/problem.ts";
import { validationError } from "../errors/validation.ts";
import { jobContextOf } from "../http/context.ts";
import { idempotency } from "../http/idempotency.ts";
import { findJob } from "../jobs/repository.ts";
import { serializeJob } from "../jobs/serialize.ts";
import { resolveAll } from "../matching/dependents.ts";
import { judgeEndsBy } from "../sweeps/judge.ts";
import { CreateJobBody, meantShape } from "./jobRequestBody.ts";
import { findTemplate } from "../templates/repository.ts";
import type { TemplateFinder } from "../templates/runs.ts";
import { buildNewJob, checkWebhookUrl, writeNewJobs, type BuiltJob } from "./newJobs.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const CreateJobBatchBody = z
  .object({
    jobs: z.array(CreateJobBody).min(1).max(jobLimits.maxBatchJobs, `may hold at most ${jobLimits.maxBatchJobs} jobs: send several batches`),
    stop_early: StopEarly.optional().meta({
      description:
        "Early stopping for the batch's jobs (a sweep), applied by the API as they report, whoever waits: a running job whose best `metric` so far is worse than the median of the other jobs' running averages at its step " +
        `(at least ${MIN_OTHERS} others: running ones that reached it, every ended one) is canceled, its status_detail saying why; one whose newest value is not a number, whatever the others did. Needs at least ${MIN_STOP_EARLY_JOBS} jobs.`,
    }),
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
    "The answer lists the jobs in the order sent. `Idempotency-Key` makes retries safe. With `stop_early`, the API stops the batch's losing runs as they report (the median stopping rule).",
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
    const { jobs: requests, stop_early: stopEarly } = c.req.valid("json");
    const ctx = jobContextOf(c);
    refuseRepeatedKeys(requests);
    if (stopEarly && requests.length < MIN_STOP_EARLY_JOBS) {
      const message = `needs at least ${MIN_STOP_EARLY_JOBS} jobs: each is judged against at least ${MIN_OTHERS} others`;
      throw unprocessable(`stop_early ${message}; this batch has ${requests.length}`, [{ path: "stop_early", message }]);
    }
    // Read once for the whole batch: each distinct webhook URL checked, each template found.
    await checkWebhooks(c, requests);
    const shared = { webhooksChecked: true, findTemplate: memoized(findTemplate) };
    const outcomes = await Promise.allSettled(requests.map((request) => buildNewJob(c, request, undefined, shared)));
    const built = outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : undefined));
    if (built.some((job) => job === undefined)) throw refusalOf(outcomes);
    const jobs = built as BuiltJob[];
    // Started before the write, so written jobs are never left unjudged; a refused write takes it back (one that
    // fails unheard leaves a judge that finds no job and lets go).
    const judge = stopEarly && sweepJudgeOf(c.env, jobs[0]!.job.id);
    if (judge) {
      const now = Date.now();
      const endBy = judgeEndsBy(now, jobs.map(({ job }) => job.spec as JobSpec), ctx.config.matching.maxJobAttempts);
      await judge.start({ account: c.get("account"), jobIds: jobs.map(({ job }) => job.id), stopEarly, startedAt: now, endBy });
    }
    const rows = await writeNewJobs(c, ctx, jobs, undefined).catch(async (error: unknown) => {
      if (judge && error instanceof ApiError) await judge.abandon().catch(() => undefined);
      throw error;
    });
    // Written from here on: nothing below may turn the answer into an error the caller would take for "not created".
    // A source that ended between the checks and the insert told no dependent: those are resolved here (else by the sweeper).
    const waits = (i: number) => jobs[i]!.sources !== undefined && !jobs[i]!.sources!.resolved;
    const waiting = rows.filter((_, i) => waits(i));
    if (waiting.length > 0) await resolveAll(ctx, waiting.map((row) => row.id));
    const current = await Promise.all(rows.map(async (row, i) => (waits(i) ? ((await findJob(c.get("db"), c.get("account"), row.id).catch(() => undefined)) ?? row) : row)));
    return c.json({ jobs: current.map((row) => serializeJob(row, c.get("baseUrl"))), ...(stopEarly ? { stop_early: stopEarly } : {}) }, 201);
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
    if (earlier !== undefined) {
      const message = `the same job_key as jobs.${earlier}: every job needs a fresh random key`;
      throw unprocessable(`jobs.${earlier} and jobs.${i} carry the same authorization job_key: every job needs a fresh random key`, [{ path: `jobs.${i}.authorization.job_key`, message }]);
    }
    first.set(key, i);
  });
}

/** Each distinct webhook URL of the batch, checked once (a DNS lookup each); a refused one is named by its first job. */
async function checkWebhooks(c: Parameters<typeof checkWebhookUrl>[0], requests: readonly CreateJobBody[]): Promise<void> {
  const firstUse = new Map<string, number>();
  requests.forEach((request, i) => request.webhook !== undefined && !firstUse.has(request.webhook) && firstUse.set(request.webhook, i));
  for (const [url, i] of firstUse) await checkWebhookUrl(c, url).catch((error: unknown) => Promise.reject(placed(error, i)));
}

/** A finder that reads each template once however many runs of the batch name it. */
function memoized(find: TemplateFinder): TemplateFinder {
  const found = new Map<string, ReturnType<TemplateFinder>>();
  return (db, ref) => {
    const key = `${ref.name}@${ref.version}`;
    if (!found.has(key)) found.set(key, find(db, ref));
    return found.get(key)!;
  };
}

/** A refusal of the batch's job `i`, said with its place. */
function placed(error: unknown, i: number): unknown {
  if (!(error instanceof ApiError)) return error;
  return new ApiError(error.status, error.slug, error.title, `jobs.${i}: ${error.message}`, error.errors?.map((field) => ({ ...field, path: `jobs.${i}.${field.path}` })), error.headers);
}

/**
 * Why the batch was refused, naming its jobs. Refusals of what jobs say (422) are gathered into one problem, each
 * field under its job (`jobs.3.spec.image`); any other refusal (a template not found, an escrow short) is the first
 * job's that had one, said with its place.
 */
function refusalOf(outcomes: readonly PromiseSettledResult<BuiltJob>[]): unknown {
  const refused = outcomes.flatMap((outcome, i) => (outcome.status === "rejected" ? [{ i, error: outcome.reason as unknown }] : []));
  const other = refused.find(({ error }) => !(error instanceof ApiError) || error.status !== 422);
  if (other) return placed(other.error, other.i);
  // Each said with its place, as any other refusal is; one that names no field is the job's own.
  const said = refused.map(({ i, error }) => ({ i, own: error as ApiError, problem: placed(error, i) as ApiError }));
  const fields: FieldError[] = said.flatMap(({ i, own, problem }) => (problem.errors?.length ? problem.errors : [{ path: `jobs.${i}`, message: own.message }]));
  const details = said.map(({ problem }) => problem.message);
  const detail = `${refused.length} of the batch's ${outcomes.length} jobs ${refused.length === 1 ? "was" : "were"} refused, so none was created; ${details.slice(0, 3).join("; ")}${details.length > 3 ? "; …" : ""}`;
  // Refused all for one reason a client acts on (an input source that finished meanwhile: sign its bytes): that reason's type.
  const slugs = new Set(refused.map(({ error }) => (error as ApiError).slug));
  const only = refused[0]!.error as ApiError;
  return slugs.size === 1 ? new ApiError(422, only.slug, only.title, detail, fields) : unprocessable(detail, fields);
}
