// A creator's side of the data relay (worker/data/relay.ts), under
// /v1/jobs/{id}/data: the input manifest, its chunks, which chunks are still
// missing, and the report of an outputs download the creator did from R2.
import { createRoute, z } from "@hono/zod-openapi";
import { creatorInputFiles, type JobSpec } from "../../protocol/jobSpec.ts";
import { inputsNoLongerNeeded, type JobStatus, type SettlementStatus } from "../../protocol/jobStatus.ts";
import { MAX_CHUNK_SIZE } from "../../protocol/transfer.ts";
import { inputChunkKey, inputManifestKey, MAX_MISSING_QUERY, MAX_RELAY_MANIFEST_BYTES } from "../../protocol/uploads.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { checkInputManifest, listsChunk, missingChunks, RelayRefusal, storedManifest } from "../data/relay.ts";
import { ApiError, badRequest, conflict, notFound, payloadTooLarge, unprocessable } from "../errors/problem.ts";
import { findJob } from "../jobs/repository.ts";
import { sha256Hex } from "../security/randomToken.ts";
import { recordTransfer } from "../jobs/transferMetrics.ts";
import type { Context } from "hono";
import type { AppEnv } from "../http/appEnv.ts";
import { bearer, createRouter, jsonContent, problems } from "./openapi.ts";

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lower-case hex sha256");
const JobIdParam = z.object({ id: z.string().max(64) });

const putManifestRoute = createRoute({
  method: "put",
  path: "/{id}/data/inputs",
  operationId: "putInputManifest",
  summary: "Upload the transfer manifest of the job's input files to the relay",
  description: "The manifest (protocol/transfer.ts: every file's size, sha256 and chunk sha256s) must name exactly the spec's `input_files`. Then upload each chunk with PUT …/data/chunks/{sha256}.",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: JobIdParam },
  responses: { 204: { description: "Stored" }, 401: problems[401], 404: problems[404], 409: problems[409], 413: problems[413], 422: problems[422] },
});

const putChunkRoute = createRoute({
  method: "put",
  path: "/{id}/data/chunks/{sha256}",
  operationId: "putInputChunk",
  summary: "Upload one chunk of the job's input files to the relay (at most 4 MiB; its sha256 is checked as it is stored)",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: JobIdParam.extend({ sha256: Sha256 }) },
  responses: { 204: { description: "Stored" }, 400: problems[400], 401: problems[401], 404: problems[404], 409: problems[409], 413: problems[413] },
});

const missingRoute = createRoute({
  method: "post",
  path: "/{id}/data/chunks/missing",
  operationId: "listMissingInputChunks",
  summary: "Which of these chunks the relay does not hold yet (to resume an upload)",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: JobIdParam, body: { content: { "application/json": { schema: z.object({ sha256s: z.array(Sha256).max(MAX_MISSING_QUERY) }) } } } },
  responses: { 200: jsonContent(z.object({ missing: z.array(Sha256) }), "The ones missing"), 401: problems[401], 404: problems[404], 422: problems[422] },
});

const downloadReportRoute = createRoute({
  method: "post",
  path: "/{id}/data/outputs-download",
  operationId: "reportOutputsDownload",
  summary: "Report a download of the outputs from the relay, for the job's metrics.transfer",
  security: bearer,
  middleware: [requireApiKey] as const,
  request: { params: JobIdParam, body: { content: { "application/json": { schema: z.object({ bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER), ms: z.number().min(0).max(30 * 24 * 3600 * 1000) }) } } } },
  responses: { 204: { description: "Recorded" }, 401: problems[401], 404: problems[404], 422: problems[422] },
});

async function ownJob(c: Context<AppEnv>, id: string) {
  const job = await findJob(c.get("db"), c.get("account"), id);
  if (!job) throw notFound("job");
  return job;
}

/** An upload for a job nobody can read it for any more would only be deleted by the sweeper. */
async function jobTakingInputs(c: Context<AppEnv>, id: string) {
  const job = await ownJob(c, id);
  if (inputsNoLongerNeeded({ status: job.status as JobStatus, settlement: job.settlement as SettlementStatus })) {
    throw conflict("inputs-not-kept", `job ${job.id} has ended (${job.status}) and its settlement is final (${job.settlement}): no provider or mediator can read its inputs any more, so the relay does not take them`);
  }
  return job;
}

/** Reads at most `limit` bytes of the body, refusing more (Content-Length may lie or be missing). */
async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > limit) throw payloadTooLarge(limit);
  const reader = request.body?.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const next = await reader?.read();
    if (!next || next.done) break;
    total += next.value.byteLength;
    if (total > limit) throw payloadTooLarge(limit);
    parts.push(next.value);
  }
  const body = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    body.set(part, at);
    at += part.byteLength;
  }
  return body;
}

const router = createRouter();

export const jobDataRoutes = router
  .openapi(missingRoute, async (c) => {
    const { id } = c.req.valid("param");
    const job = await ownJob(c, id);
    return c.json({ missing: await missingChunks(c.env.OUTPUTS, job.id, c.req.valid("json").sha256s) }, 200);
  })
  .openapi(downloadReportRoute, async (c) => {
    const job = await ownJob(c, c.req.valid("param").id);
    if (!job.output) throw conflict("no-outputs", `job ${job.id} has no outputs to have downloaded`);
    await recordTransfer(c.get("db"), job.id, "outputs", { route: "relay", ...c.req.valid("json") });
    return c.body(null, 204);
  })
  .openapi(putManifestRoute, async (c) => {
    const job = await jobTakingInputs(c, c.req.valid("param").id);
    const body = await readBody(c.req.raw, MAX_RELAY_MANIFEST_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw badRequest("the manifest is not JSON");
    }
    try {
      // Only the files the creator brings: those from another job's outputs never pass through the relay.
      checkInputManifest(json, creatorInputFiles((job.spec as JobSpec).input_files));
    } catch (error) {
      if (error instanceof RelayRefusal) throw unprocessable(error.message, [{ path: "manifest", message: error.message }]);
      throw error;
    }
    await c.env.OUTPUTS.put(inputManifestKey(job.id), body, { httpMetadata: { contentType: "application/json" } });
    return c.body(null, 204);
  })
  .openapi(putChunkRoute, async (c) => {
    const { id, sha256 } = c.req.valid("param");
    const job = await jobTakingInputs(c, id);
    const manifest = await storedManifest(c.env.OUTPUTS, job.id);
    if (!manifest) throw conflict("no-input-manifest", "upload the input manifest first: PUT /v1/jobs/{id}/data/inputs");
    if (!listsChunk(manifest, sha256)) throw notFound(`chunk ${sha256} in the job's input manifest`);
    const body = await readBody(c.req.raw, MAX_CHUNK_SIZE);
    // Checked here, so only a real mismatch is the sender's fault (a 400); R2 checks again as it
    // stores, and any other storage failure stays a 5xx the sender can retry.
    const actual = await sha256Hex(body);
    if (actual !== sha256) throw new ApiError(400, "checksum-mismatch", "Bad request", `the chunk's bytes have sha256 ${actual}, not ${sha256}: send the chunk the manifest names`);
    await c.env.OUTPUTS.put(inputChunkKey(job.id, sha256), body, { sha256 });
    return c.body(null, 204);
  });
