// The provider side of the API: the WebSocket into a hub shard, and output
// uploads, each signed by the provider the job is assigned to.
import { Hono } from "hono";
import type { Address } from "viem";
import { RelativePath } from "../../protocol/jobSpec.ts";
import { outputObjectKey, UPLOAD_SIGNATURE_TTL_MS, uploadHeaders, uploadMessage } from "../../protocol/uploads.ts";
import { eq } from "drizzle-orm";
import { jobs } from "../db/schema.ts";
import { hubOf } from "../bindings/objects.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { checkMessageSignature } from "../security/signatures.ts";
import { ApiError, badRequest, conflict, forbidden, notFound, payloadTooLarge, unauthorized } from "../errors/problem.ts";

export const providerRoutes = new Hono<AppEnv>()
  .get("/connect", async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "upgrade-required", "Upgrade required", "connect with a WebSocket: GET /v1/providers/connect?address=0x…");
    }
    const address = c.req.query("address");
    if (!address || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw badRequest("add ?address=0x… (your provider address) to the connect URL");
    const url = new URL(c.req.url);
    url.searchParams.set("address", address.toLowerCase());
    return hubOf(c.env, c.get("config"), address).fetch(new Request(url, c.req.raw));
  })
  .put("/jobs/:id/outputs/:path{.+}", async (c) => {
    const jobId = c.req.param("id");
    const path = RelativePath.safeParse(c.req.param("path"));
    if (!path.success) throw badRequest(`the output path is not valid: ${path.error.issues[0]?.message}`);
    const provider = c.req.header(uploadHeaders.provider)?.toLowerCase();
    const signature = c.req.header(uploadHeaders.signature);
    const sha256 = c.req.header(uploadHeaders.sha256);
    const timestamp = Number(c.req.header(uploadHeaders.timestamp));
    const size = Number(c.req.header("content-length"));
    if (!provider || !signature || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !Number.isFinite(timestamp)) {
      throw unauthorized(`sign the upload: send ${Object.values(uploadHeaders).join(", ")}`);
    }
    if (!Number.isInteger(size) || size < 0) throw new ApiError(411, "length-required", "Length required", "send Content-Length with the upload");
    if (size > c.get("config").maxOutputBytes) throw payloadTooLarge(c.get("config").maxOutputBytes);
    if (Math.abs(Date.now() - timestamp) > UPLOAD_SIGNATURE_TTL_MS) throw unauthorized("the upload signature has expired; sign it again");

    const signed = await checkMessageSignature(provider as Address, uploadMessage({ jobId, path: path.data, sha256, size, timestamp }), signature);
    if (!signed.ok) throw unauthorized(signed.problem === "malformed" ? `the upload signature is not usable: ${signed.reason}` : "the upload signature is not the provider's");

    const job = (await c.get("db").select({ provider: jobs.provider, status: jobs.status }).from(jobs).where(eq(jobs.id, jobId)))[0];
    if (!job) throw notFound("job");
    if (job.provider !== provider) throw forbidden("only the provider assigned to a job may upload its outputs");
    if (job.status !== "starting" && job.status !== "processing") throw conflict("job-not-running", `the job is ${job.status}; outputs are uploaded while it runs`);
    if (!c.req.raw.body && size > 0) throw badRequest("the upload has no body");

    try {
      // R2 checks the sha256 as it stores: a body that does not match is refused, not kept.
      await c.env.OUTPUTS.put(outputObjectKey(jobId, path.data, sha256), c.req.raw.body ?? new Uint8Array(), { sha256 });
    } catch (error) {
      throw badRequest(`the upload was refused: ${error instanceof Error ? error.message : "checksum mismatch"}`);
    }
    return c.json({ path: path.data, size, sha256 }, 201);
  });
