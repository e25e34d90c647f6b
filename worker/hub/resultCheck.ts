// Checks a provider's result before the job may succeed: the manifest's hash is
// recomputed, every file is in R2 with the size and sha256 claimed, the claim
// is within what was agreed, and the provider's EIP-712 signature covers it.
import type { Address, Hex, TypedDataDomain } from "viem";
import { jobResultTypes } from "../../protocol/eip712.ts";
import type { ResultMessage } from "../../protocol/hubMessages.ts";
import { computeResultHash, type OutputManifest } from "../../protocol/manifest.ts";
import { outputObjectKey } from "../../protocol/uploads.ts";
import { toHex } from "../security/randomToken.ts";
import { checkTypedSignature } from "../security/signatures.ts";

export interface ResultCheckInput {
  jobId: string;
  chainJobId: Hex;
  provider: Address;
  maxAmountWei: bigint;
  domain: TypedDataDomain;
  bucket: R2Bucket;
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

  for (const file of manifest.files) {
    const object = await input.bucket.head(outputObjectKey(input.jobId, file.path, file.sha256));
    if (!object) return { ok: false, error: `output ${file.path} was not uploaded` };
    if (object.size !== file.size) return { ok: false, error: `output ${file.path} is ${object.size} bytes, the manifest says ${file.size}` };
    const stored = object.checksums.sha256;
    if (!stored || toHex(new Uint8Array(stored)) !== file.sha256) return { ok: false, error: `output ${file.path} does not have the sha256 the manifest claims` };
  }
  return { ok: true, manifest, amountWei, signature: signed.signature };
}
