// A provider's uploads of a job's outputs: one file (PUT …/outputs/<path>) or
// many small ones in one batch (POST …/outputs, protocol/outputBatch.ts). Each
// is signed by the provider the job is assigned to, while the job runs; R2
// keeps every file under its path and sha256 (protocol/uploads.ts).
import type { Context } from "hono";
import { Hono } from "hono";
import type { Address } from "viem";
import { eq } from "drizzle-orm";
import { RelativePath } from "../../protocol/jobSpec.ts";
import { BATCH_MAX_BODY_BYTES, decodeOutputBatch, outputBatchMessage } from "../../protocol/outputBatch.ts";
import { outputObjectKey, UPLOAD_SIGNATURE_TTL_MS, uploadHeaders, uploadMessage } from "../../protocol/uploads.ts";
import { jobs } from "../db/schema.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { sha256Hex } from "../security/randomToken.ts";
import { checkMessageSignature } from "../security/signatures.ts";
import { ApiError, badRequest, conflict, forbidden, notFound, payloadTooLarge, unauthorized } from "../errors/problem.ts";

/** R2 writes a batch makes at once. */
const BATCH_WRITES_AT_ONCE = 6;

interface UploadClaim {
  sha256: string;
  size: number;
  timestamp: number;
}

/**
 * The upload headers checked, then the signature over `messageOf(claim)`, then
 * the job (assigned to the signer, still running): the claimed sha256 and size.
 */
async function checkSignedUpload(c: Context<AppEnv>, jobId: string, maxBytes: number, messageOf: (claim: UploadClaim) => string): Promise<UploadClaim> {
  const provider = c.req.header(uploadHeaders.provider)?.toLowerCase();
  const signature = c.req.header(uploadHeaders.signature);
  const sha256 = c.req.header(uploadHeaders.sha256);
  const timestamp = Number(c.req.header(uploadHeaders.timestamp));
  const size = Number(c.req.header("content-length"));
  if (!provider || !signature || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isFinite(timestamp)) {
    throw unauthorized(`sign the upload: send ${Object.values(uploadHeaders).join(", ")}`);
  }
  if (!Number.isInteger(size) || size < 0) throw new ApiError(411, "length-required", "Length required", "send Content-Length with the upload");
  if (size > maxBytes) throw payloadTooLarge(maxBytes);
  if (Math.abs(Date.now() - timestamp) > UPLOAD_SIGNATURE_TTL_MS) throw unauthorized("the upload signature has expired; sign it again");

  const claim = { sha256, size, timestamp };
  const signed = await checkMessageSignature(provider as Address, messageOf(claim), signature);
  if (!signed.ok) throw unauthorized(signed.problem === "malformed" ? `the upload signature is not usable: ${signed.reason}` : "the upload signature is not the provider's");

  const job = (await c.get("db").select({ provider: jobs.provider, status: jobs.status }).from(jobs).where(eq(jobs.id, jobId)))[0];
  if (!job) throw notFound("job");
  if (job.provider !== provider) throw forbidden("only the provider assigned to a job may upload its outputs");
  if (job.status !== "starting" && job.status !== "processing") throw conflict("job-not-running", `the job is ${job.status}; outputs are uploaded while it runs`);
  if (!c.req.raw.body && size > 0) throw badRequest("the upload has no body");
  return claim;
}

export const outputUploadRoutes = new Hono<AppEnv>()
  .put("/jobs/:id/outputs/:path{.+}", async (c) => {
    const jobId = c.req.param("id");
    const path = RelativePath.safeParse(c.req.param("path"));
    if (!path.success) throw badRequest(`the output path is not valid: ${path.error.issues[0]?.message}`);
    const { sha256, size } = await checkSignedUpload(c, jobId, c.get("config").maxOutputBytes, (claim) => uploadMessage({ jobId, path: path.data, ...claim }));
    try {
      // R2 checks the sha256 as it stores: a body that does not match is refused, not kept.
      await c.env.OUTPUTS.put(outputObjectKey(jobId, path.data, sha256), c.req.raw.body ?? new Uint8Array(), { sha256 });
    } catch (error) {
      throw badRequest(`the upload was refused: ${error instanceof Error ? error.message : "checksum mismatch"}`);
    }
    return c.json({ path: path.data, size, sha256 }, 201);
  })
  .post("/jobs/:id/outputs", async (c) => {
    const jobId = c.req.param("id");
    const claim = await checkSignedUpload(c, jobId, BATCH_MAX_BODY_BYTES, (signed) => outputBatchMessage({ jobId, ...signed }));
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length !== claim.size) throw badRequest(`the batch carried ${body.length} bytes, its Content-Length said ${claim.size}`);
    if ((await sha256Hex(body)) !== claim.sha256) throw badRequest(`the batch's bytes do not have the sha256 in ${uploadHeaders.sha256}`);
    const batch = decodeOutputBatch(body);
    if (!batch.ok) throw badRequest(batch.reason);
    // Every file checked before any is stored: a batch with one bad file leaves nothing behind.
    for (const file of batch.files) {
      if ((await sha256Hex(file.bytes)) !== file.sha256) throw badRequest(`${file.path}: its bytes do not have the sha256 the batch's listing gives`);
    }
    let next = 0;
    const writer = async () => {
      while (next < batch.files.length) {
        const file = batch.files[next++]!;
        await c.env.OUTPUTS.put(outputObjectKey(jobId, file.path, file.sha256), file.bytes, { sha256: file.sha256 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(BATCH_WRITES_AT_ONCE, batch.files.length) }, writer));
    return c.json({ stored: batch.files.length }, 201);
  });
