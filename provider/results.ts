// What a provider reports when a job ends: for a success, the outputs uploaded
// (the smallest carried inline instead), their manifest and the signed claim;
// otherwise the outcome and why.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex, TypedDataDomain } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { forEachInPool } from "../p2p/core/pool.ts";
import { jobResultTypes } from "../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type OfferMessage, type ResultMessage } from "../protocol/hubMessages.ts";
import { inlineShare, type InlineOutput } from "../protocol/inlineOutputs.ts";
import { hubMessageLimits, MAX_OUTPUT_FILES } from "../protocol/limits.ts";
import type { ManifestFile, OutputManifest } from "../protocol/manifest.ts";
import { claimAmountWei } from "./billing.ts";
import type { EgressUsage } from "../protocol/egress.ts";
import type { JobGpuUsage } from "../protocol/gpuUsage.ts";
import type { RunResult } from "./executor/docker.ts";
import { manifestOf } from "./executor/outputs.ts";
import { truncate } from "./truncate.ts";
import { batchesOf, fitsBatch, uploadOutputBatch } from "./uploadBatch.ts";
import { uploadOutputWithRetry, withUploadRetry } from "./uploads.ts";

/**
 * Small outputs go up in batches (uploadBatch.ts), a few at once; middling ones
 * many at once, each mostly a round trip; big ones one at a time, each with the
 * whole link, as uploadTimeoutMs counts on.
 */
const BATCHES_AT_ONCE = 4;
const SMALL_OUTPUT_BYTES = 1024 * 1024;
const SMALL_UPLOADS_AT_ONCE = 16;

/** What the daemon adds to the executor's run: what the job's egress moved, what its GPUs did. */
export interface JobRunExtras {
  egress?: EgressUsage;
  gpu?: JobGpuUsage;
}

export interface ResultContext {
  api: string;
  account: PrivateKeyAccount;
  /** The EIP-712 domain the hub named in its welcome. */
  domain: TypedDataDomain;
  maxOutputBytes: number;
  /** Whether the hub takes the smallest outputs inline (its welcome said so); otherwise every output is uploaded. */
  inlineOutputs: boolean;
}

type Unsuccessful = Exclude<RunResult["outcome"], "succeeded">;

/** A result that claims nothing: the job did not succeed, and `error` says why (cut to what the hub takes). */
export function unsuccessfulResult(jobId: string, outcome: Unsuccessful, error: string, run?: Pick<RunResult, "exitCode" | "pullMs" | "runMs" | "warning" | "inputsTransfer" | "image"> & JobRunExtras): ResultMessage {
  return {
    v: HUB_PROTOCOL_VERSION,
    type: "job.result",
    job_id: jobId,
    outcome,
    exit_code: run?.exitCode ?? null,
    error: truncate(error, hubMessageLimits.resultError),
    manifest: null,
    amount_wei: "0",
    signature: null,
    ...(run ? { metrics: metricsOf(run) } : {}),
    ...warningOf(run),
  };
}

function metricsOf(run: Pick<RunResult, "pullMs" | "runMs" | "inputsTransfer" | "image"> & JobRunExtras): NonNullable<ResultMessage["metrics"]> {
  return {
    pull_ms: run.pullMs,
    run_ms: run.runMs,
    ...(run.inputsTransfer ? { inputs_transfer: run.inputsTransfer } : {}),
    ...(run.image ? { image: run.image } : {}),
    ...(run.egress ? { egress: run.egress } : {}),
    ...(run.gpu ? { gpu: run.gpu } : {}),
  };
}

function warningOf(run?: Pick<RunResult, "warning">): { warning?: string } {
  return run?.warning ? { warning: truncate(run.warning, hubMessageLimits.resultWarning) } : {};
}

/** Uploads outputs and signs the claim for a succeeded job; a failure to do so fails the job, saying why. */
export async function buildResult(context: ResultContext, offer: OfferMessage, run: RunResult & JobRunExtras): Promise<ResultMessage> {
  const jobId = offer.job_id;
  if (run.outcome !== "succeeded") return unsuccessfulResult(jobId, run.outcome, run.error ?? `the job ended ${run.outcome}`, run);
  let manifest: OutputManifest;
  let inline: InlineOutput[];
  try {
    manifest = await manifestOf(run.outputsDir, { maxFiles: MAX_OUTPUT_FILES, maxTotalBytes: context.maxOutputBytes });
    // The smallest go with the result (protocol/inlineOutputs.ts); a job whose outputs all fit makes no upload at all.
    const inlined = new Set(context.inlineOutputs ? inlineShare(manifest.files) : []);
    inline = await Promise.all([...inlined].map(async (file) => ({ path: file.path, data_base64: (await readFile(join(run.outputsDir, file.path))).toString("base64") })));
    const uploaded = manifest.files.filter((file) => !inlined.has(file));
    const upload = (file: ManifestFile, signal: AbortSignal) =>
      uploadOutputWithRetry({ api: context.api, account: context.account, jobId, path: file.path, file: join(run.outputsDir, file.path), sha256: file.sha256, size: file.size, signal });
    const batch = (files: ManifestFile[], signal: AbortSignal) =>
      withUploadRetry(() => uploadOutputBatch({ api: context.api, account: context.account, jobId, outputsDir: run.outputsDir, files, signal }), signal);
    await forEachInPool(batchesOf(uploaded), BATCHES_AT_ONCE, batch);
    await forEachInPool(uploaded.filter((file) => !fitsBatch(file) && file.size <= SMALL_OUTPUT_BYTES), SMALL_UPLOADS_AT_ONCE, upload);
    await forEachInPool(uploaded.filter((file) => file.size > SMALL_OUTPUT_BYTES), 1, upload);
  } catch (error) {
    return unsuccessfulResult(jobId, "failed", `the outputs could not be delivered: ${(error as Error).message}`, run);
  }
  const amount = claimAmountWei(BigInt(offer.rate_wei_per_second), run.runMs, BigInt(offer.max_amount_wei));
  const signature = await context.account.signTypedData({
    domain: context.domain,
    types: jobResultTypes,
    primaryType: "JobResult",
    message: { jobId: offer.chain_job_id as Hex, resultHash: manifest.result_hash as Hex, amount },
  });
  return {
    v: HUB_PROTOCOL_VERSION,
    type: "job.result",
    job_id: jobId,
    outcome: "succeeded",
    exit_code: run.exitCode,
    error: null,
    manifest,
    ...(inline.length > 0 ? { inline_outputs: inline } : {}),
    amount_wei: amount.toString(),
    signature,
    metrics: metricsOf(run),
    ...warningOf(run),
  };
}
