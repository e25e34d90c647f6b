// The provider's side of the data relay (worker/data/relay.ts): a job's input
// manifest and chunks, read by its provider or a mediator the chain drew, its
// input files that are other jobs' outputs (streamed from where those outputs
// are kept), its own outputs (for a mediator judging a tolerant job), and whether its inputs may still be needed (its provider keeps them
// until then, to serve a mediator), each read signed by the reader's key
// (protocol/uploads.ts) like an output upload.
import { createRoute, z } from "@hono/zod-openapi";
import type { Address } from "viem";
import { eq } from "drizzle-orm";
import { inputsNoLongerNeeded, type JobStatus, type SettlementStatus } from "../../protocol/jobStatus.ts";
import { Problem } from "../../protocol/problem.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { checkpointObjectKey, type SavedCheckpoint } from "../../protocol/checkpoint.ts";
import { checkpointObject, InputsNeeded, inputChunkKey, inputManifestKey, outputObject, outputObjectKey, relayReadMessage, sourceObject, UPLOAD_SIGNATURE_TTL_MS, uploadHeaders, type RelayObject } from "../../protocol/uploads.ts";
import { listsChunk, mayReadInputs, storedManifest } from "../data/relay.ts";
import { jobs } from "../db/schema.ts";
import { serveStoredFile } from "../http/download.ts";
import { resolvedFilesOf } from "../jobs/inputSources.ts";
import { forbidden, notFound, unauthorized } from "../errors/problem.ts";
import { checkMessageSignature } from "../security/signatures.ts";
import type { Context } from "hono";
import type { AppEnv } from "../http/appEnv.ts";
import { createRouter, jsonContent, problems } from "./openapi.ts";

// Required: a read without them is refused (401). Documented only, so nothing here parses them.
const signedHeaders = z.object({
  [uploadHeaders.provider]: z.string(),
  [uploadHeaders.timestamp]: z.string(),
  [uploadHeaders.signature]: z.string(),
});

const manifestRoute = createRoute({
  method: "get",
  path: "/jobs/{id}/data/inputs",
  operationId: "getRelayedInputManifest",
  // No key: the reader signs each read in the headers below, which OpenAPI's security schemes cannot express.
  security: [],
  summary: "The job's input manifest from the relay (its provider, or a drawn mediator; signed like an upload)",
  request: { params: z.object({ id: z.string() }), headers: signedHeaders },
  responses: { 200: { description: "The transfer manifest", content: { "application/json": { schema: z.unknown() } } }, 401: problems[401], 403: problems[403], 404: problems[404] },
});

const chunkRoute = createRoute({
  method: "get",
  path: "/jobs/{id}/data/chunks/{sha256}",
  operationId: "getRelayedInputChunk",
  // No key: signed in the headers, as above.
  security: [],
  summary: "One chunk of the job's inputs from the relay (its provider, or a drawn mediator; signed like an upload)",
  request: { params: z.object({ id: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }), headers: signedHeaders },
  responses: { 200: { description: "The chunk's bytes", content: { "application/octet-stream": { schema: z.string() } } }, 401: problems[401], 403: problems[403], 404: problems[404] },
});

/** A signed read of one stored file by its sha256, resumable with `Range: bytes=N-` (served by serveStoredFile). */
function storedFileRoute(path: string, operationId: string, summary: string) {
  return createRoute({
    method: "get",
    path,
    operationId,
    // No key: signed in the headers, as above.
    security: [],
    summary: `${summary}. \`Range: bytes=N-\` resumes a cut read`,
    request: { params: z.object({ id: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }), headers: signedHeaders },
    responses: {
      200: { description: "The file's bytes", content: { "application/octet-stream": { schema: z.string() } } },
      206: { description: "The range asked for", content: { "application/octet-stream": { schema: z.string() } } },
      401: problems[401],
      403: problems[403],
      404: problems[404],
      416: { description: "The range starts past the file's end", content: { "application/problem+json": { schema: Problem } } },
    },
  });
}

const sourceRoute = storedFileRoute(
  "/jobs/{id}/data/sources/{sha256}",
  "getSourceJobOutput",
  "One of the job's input files that is another job's output (an input_files entry with `from`), by its sha256, from that job's outputs in R2 (its provider, or a drawn mediator; signed like an upload)",
);

const outputRoute = storedFileRoute(
  "/jobs/{id}/data/outputs/{sha256}",
  "getJobOutputForMediation",
  "One of the job's own outputs, by its sha256, from where its provider delivered them (a mediator drawn for its challenge compares them with its re-run; its provider may read them too; signed like an upload)",
);

const checkpointRoute = storedFileRoute(
  "/jobs/{id}/data/checkpoint/{sha256}",
  "getJobCheckpointFile",
  "One file of the job's latest checkpoint (spec.checkpoint), or of the one its last attempt resumed from, by its sha256: a requeued job's provider puts the latest back before the job starts, a drawn mediator the one the challenged attempt resumed from (signed like an upload)",
);

const neededRoute = createRoute({
  method: "get",
  path: "/jobs/{id}/data/inputs-needed",
  operationId: "getRelayedInputsNeeded",
  // No key: signed in the headers, as above.
  security: [],
  summary: "Whether the job's inputs may still be needed: until the job has ended and its settlement is final, a mediator may be drawn to re-run it (its provider keeps them until then; signed like an upload)",
  request: { params: z.object({ id: z.string() }), headers: signedHeaders },
  responses: { 200: jsonContent(InputsNeeded, "Whether to keep them"), 401: problems[401], 403: problems[403], 404: problems[404] },
});

/** The reader the signature proves, allowed to read this job's inputs. */
async function signedReader(c: Context<AppEnv>, jobId: string, object: RelayObject) {
  const reader = c.req.header(uploadHeaders.provider)?.toLowerCase();
  const signature = c.req.header(uploadHeaders.signature);
  const timestamp = Number(c.req.header(uploadHeaders.timestamp));
  if (!reader || !/^0x[0-9a-f]{40}$/.test(reader) || !signature || !Number.isFinite(timestamp)) throw unauthorized(`sign the read: send ${uploadHeaders.provider}, ${uploadHeaders.timestamp} and ${uploadHeaders.signature}`);
  if (Math.abs(Date.now() - timestamp) > UPLOAD_SIGNATURE_TTL_MS) throw unauthorized("the read's signature has expired; sign it again");
  const signed = await checkMessageSignature(reader as Address, relayReadMessage({ jobId, object, timestamp }), signature);
  if (!signed.ok) throw unauthorized(signed.problem === "malformed" ? `the read's signature is not usable: ${signed.reason}` : "the read's signature is not that provider's");
  const job = (
    await c
      .get("db")
      .select({ id: jobs.id, provider: jobs.provider, chainJobId: jobs.chainJobId, status: jobs.status, settlement: jobs.settlement, spec: jobs.spec, resolvedInputFiles: jobs.resolvedInputFiles, output: jobs.output, checkpoint: jobs.checkpoint })
      .from(jobs)
      .where(eq(jobs.id, jobId))
  )[0];
  if (!job) throw notFound("job");
  if (!(await mayReadInputs(c.get("db"), job, reader))) throw forbidden("only the job's provider, or a mediator drawn for it, may read its inputs");
  return job;
}

const router = createRouter();

export const providerDataRoutes = router
  .get("/jobs/:id/data/inputs", async (c) => {
    const job = await signedReader(c, c.req.param("id"), "inputs");
    const object = await c.env.OUTPUTS.get(inputManifestKey(job.id));
    // Not there yet: the creator may still be uploading, so the reader asks again.
    if (!object) throw notFound("the job's input manifest (not uploaded yet)");
    return new Response(object.body, { headers: { "content-type": "application/json" } });
  })
  .get("/jobs/:id/data/inputs-needed", async (c) => {
    const job = await signedReader(c, c.req.param("id"), "inputs-needed");
    return c.json<InputsNeeded>({ needed: !inputsNoLongerNeeded({ status: job.status as JobStatus, settlement: job.settlement as SettlementStatus }) });
  })
  .get("/jobs/:id/data/sources/:sha256{[0-9a-f]{64}}", async (c) => {
    const { id, sha256 } = c.req.param();
    const job = await signedReader(c, id, sourceObject(sha256));
    // Only what the job's resolved inputs name from another job: its sources were checked to be its creator's own when it was created.
    const file = resolvedFilesOf(job)?.find((candidate) => candidate.from !== undefined && candidate.sha256 === sha256);
    if (!file?.from) throw notFound(`an input of job ${job.id} from another job's outputs with sha256 ${sha256}`);
    const key = outputObjectKey(file.from.job, file.from.output, sha256);
    return serveStoredFile(c.req.raw, c.env.OUTPUTS, { key, sha256, size: file.size, filename: file.path.split("/").pop()!, description: `${file.from.job}'s output ${file.from.output}` });
  })
  .get("/jobs/:id/data/outputs/:sha256{[0-9a-f]{64}}", async (c) => {
    const { id, sha256 } = c.req.param();
    const job = await signedReader(c, id, outputObject(sha256));
    const file = (job.output as OutputManifest | null)?.files.find((candidate) => candidate.sha256 === sha256);
    if (!file) throw notFound(`an output of job ${job.id} with sha256 ${sha256}`);
    return serveStoredFile(c.req.raw, c.env.OUTPUTS, { key: outputObjectKey(job.id, file.path, sha256), sha256, size: file.size, filename: file.path.split("/").pop()!, description: `${job.id}'s output ${file.path}` });
  })
  .get("/jobs/:id/data/checkpoint/:sha256{[0-9a-f]{64}}", async (c) => {
    const { id, sha256 } = c.req.param();
    const job = await signedReader(c, id, checkpointObject(sha256));
    // The latest (a requeued job's provider resumes from it), or the one the last attempt resumed from (its mediator does).
    const checkpoint = job.checkpoint as SavedCheckpoint | null;
    const file = [...(checkpoint?.files ?? []), ...(checkpoint?.resumed_from?.files ?? [])].find((candidate) => candidate.sha256 === sha256);
    if (!file) throw notFound(`a file of job ${job.id}'s checkpoints with sha256 ${sha256}`);
    return serveStoredFile(c.req.raw, c.env.OUTPUTS, { key: checkpointObjectKey(job.id, file), sha256, size: file.size, filename: file.path.split("/").pop()!, description: `${job.id}'s checkpoint file ${file.path}` });
  })
  .get("/jobs/:id/data/chunks/:sha256{[0-9a-f]{64}}", async (c) => {
    const { id, sha256 } = c.req.param();
    const job = await signedReader(c, id, `chunks/${sha256}`);
    const manifest = await storedManifest(c.env.OUTPUTS, job.id);
    if (!manifest || !listsChunk(manifest, sha256)) throw notFound(`chunk ${sha256} in the job's input manifest`);
    const object = await c.env.OUTPUTS.get(inputChunkKey(job.id, sha256));
    if (!object) throw notFound(`chunk ${sha256} (not uploaded yet)`);
    return new Response(object.body, { headers: { "content-type": "application/octet-stream", "content-length": String(object.size), "x-pond-sha256": sha256 } });
  });

// Documented only: the handlers above serve them (raw bodies, not JSON).
router.openAPIRegistry.registerPath(manifestRoute);
router.openAPIRegistry.registerPath(chunkRoute);
router.openAPIRegistry.registerPath(neededRoute);
router.openAPIRegistry.registerPath(sourceRoute);
router.openAPIRegistry.registerPath(outputRoute);
router.openAPIRegistry.registerPath(checkpointRoute);
