// Checks a provider's result before the job may succeed: the manifest's hash is
// recomputed, every file is in R2 with the size and sha256 claimed (the result's
// inline outputs checked against the manifest, and stored there once all passed), the claim
// is within what was agreed, and the provider's EIP-712 signature covers it.
import type { Address, Hex, TypedDataDomain } from "viem";
import { jobResultTypes } from "../../protocol/eip712.ts";
import type { ResultMessage } from "../../protocol/hubMessages.ts";
import { computeResultHash, type OutputManifest } from "../../protocol/manifest.ts";
import { outputObjectKey, outputsPrefix } from "../../protocol/uploads.ts";
import { toHex } from "../security/randomToken.ts";
import { checkTypedSignature } from "../security/signatures.ts";
import { checkInlineOutputs, storeInlineOutputs } from "./inlineOutputs.ts";

export interface ResultCheckInput {
  jobId: string;
  chainJobId: Hex;
  provider: Address;
  maxAmountWei: bigint;
  domain: TypedDataDomain;
  bucket: R2Bucket;
  /**
   * Settles false when the job turned out not to be this provider's to finish (the hub's copy of it was stale):
   * its inline outputs are then not stored. Read beside the checks, so it costs no time on their path.
   */
  stillAssigned?: Promise<boolean>;
}

export type ResultCheck = { ok: true; manifest: OutputManifest; amountWei: bigint; signature: Hex } | { ok: false; error: string };

export async function checkSucceededResult(input: ResultCheckInput, result: ResultMessage): Promise<ResultCheck> {
  const manifest = result.manifest;
  if (!manifest) return { ok: false, error: "a succeeded result must carry its output manifest" };
  if (!result.signature) return { ok: false, error: "a succeeded result must be signed" };
  const recomputed = await computeResultHash(manifest.files);
  if (recomputed !== manifest.result_hash) return { ok: false, error: `result_hash does not match the files (expected ${recomputed})` };
  const amountWei = BigInt(result.amount_wei);
  if (amountWei > input.maxAmountWei) return { ok: false, error: `the claim of ${amountWei} wei exceeds the agreed ${input.maxAmountWei} wei` };

  // Kept and relayed in canonical form: the settlement batch takes no other (protocol/signature.ts).
  const signed = await checkTypedSignature({
    address: input.provider,
    domain: input.domain,
    types: jobResultTypes,
    primaryType: "JobResult",
    message: { jobId: input.chainJobId, resultHash: manifest.result_hash as Hex, amount: amountWei },
    signature: result.signature,
  });
  if (!signed.ok) {
    return { ok: false, error: signed.problem === "malformed" ? `the result signature is not usable: ${signed.reason}` : "the result signature is not the assigned provider's" };
  }

  const inline = await checkInlineOutputs(input.jobId, manifest, result.inline_outputs ?? []);
  if (!inline.ok) return inline;
  const inlineKeys = new Set(inline.outputs.map((output) => output.key));
  const uploaded = manifest.files.filter((file) => !inlineKeys.has(outputObjectKey(input.jobId, file.path, file.sha256)));
  const listed = await listedSizes(input.bucket, input.jobId, uploaded.length);
  for (const file of uploaded) {
    const key = outputObjectKey(input.jobId, file.path, file.sha256);
    // A listed key is as good as a head: its sha256 is in the key, and R2 checked it when it stored the object.
    const size = listed.get(key) ?? (await headedSize(input.bucket, key, file.sha256));
    if (size === undefined) return { ok: false, error: `output ${file.path} was not uploaded` };
    if (size === "wrong-sha256") return { ok: false, error: `output ${file.path} does not have the sha256 the manifest claims` };
    if (size !== file.size) return { ok: false, error: `output ${file.path} is ${size} bytes, the manifest says ${file.size}` };
  }
  // Stored last: the result is signed by the assigned provider and every other file is there, so nothing is kept for a refused one.
  if (inline.outputs.length > 0 && input.stillAssigned && !(await input.stillAssigned)) return { ok: false, error: `job ${input.jobId} is no longer assigned to you` };
  await storeInlineOutputs(input.bucket, inline.outputs);
  return { ok: true, manifest, amountWei, signature: signed.signature };
}

/** Below this many files, one head per file costs less than listing. */
const LIST_FROM_FILES = 50;

/**
 * The sizes of the job's stored outputs by key, listed a thousand at a time
 * (10,000 heads took 5 s in local R2). Pages stop at twice the manifest's files:
 * a provider's extra uploads cannot make the hub list for ever; whatever was not
 * listed by then is looked up one by one.
 */
async function listedSizes(bucket: R2Bucket, jobId: string, files: number): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (files < LIST_FROM_FILES) return sizes;
  const prefix = outputsPrefix(jobId);
  let cursor: string | undefined;
  for (let page = 0; page < Math.ceil((2 * files) / 1000) + 1; page++) {
    const listing = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const object of listing.objects) sizes.set(object.key, object.size);
    if (!listing.truncated) break;
    cursor = listing.cursor;
  }
  return sizes;
}

/** One stored output's size from a head, or why it does not count. */
export async function headedSize(bucket: R2Bucket, key: string, sha256: string): Promise<number | "wrong-sha256" | undefined> {
  const object = await bucket.head(key);
  if (!object) return undefined;
  const stored = object.checksums.sha256;
  return stored && toHex(new Uint8Array(stored)) === sha256 ? object.size : "wrong-sha256";
}
