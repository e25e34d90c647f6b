// Checks a creator's JobAuthorization when a job is created: signed by the
// creator, over this very spec and price, with a deadline that leaves room
// for the job to be matched, run and reported.
import type { Address, Hex, TypedDataDomain } from "viem";
import { jobAuthorizationTypes, specHashOf } from "../../protocol/eip712.ts";
import type { JobAuthorizationInput, JobSpec } from "../../protocol/jobSpec.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { unprocessable } from "../errors/problem.ts";
import { checkTypedSignature } from "../security/signatures.ts";

/** Time after the job's own timeout for its result to reach the chain. */
export const RESULT_MARGIN_S = 300;
/** Funds should not be held for longer than this by one authorization. */
export const MAX_AUTHORIZATION_S = jobLimits.maxAuthorizationS;

/** The earliest deadline an authorization for this spec may carry (unix seconds). */
export function earliestDeadline(spec: JobSpec, nowMs: number): number {
  return Math.ceil(nowMs / 1000) + (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) + spec.timeout_s + RESULT_MARGIN_S;
}

/** Checks the authorization and returns its signature in canonical form (protocol/signature.ts), the form to keep and relay. */
export async function checkAuthorization(args: {
  creator: Address;
  spec: JobSpec;
  authorization: JobAuthorizationInput;
  domain: TypedDataDomain;
  nowMs: number;
}): Promise<Hex> {
  const { authorization, spec } = args;
  const earliest = earliestDeadline(spec, args.nowMs);
  if (authorization.deadline < earliest) {
    throw unprocessable(`the authorization's deadline leaves no time to match, run and report the job: use ${earliest} or later`, [
      { path: "authorization.deadline", message: `must be at least ${earliest}` },
    ]);
  }
  if (authorization.deadline > Math.ceil(args.nowMs / 1000) + MAX_AUTHORIZATION_S) {
    throw unprocessable("the authorization's deadline is more than 30 days away", [{ path: "authorization.deadline", message: "must be within 30 days" }]);
  }
  const checked = await checkTypedSignature({
    address: args.creator,
    domain: args.domain,
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    message: { jobId: authorization.job_key as Hex, specHash: specHashOf(spec), maxPrice: BigInt(spec.max_price_wei), deadline: BigInt(authorization.deadline) },
    signature: authorization.signature,
  });
  if (!checked.ok) {
    const detail =
      checked.problem === "wrong-signer"
        ? "the authorization is not your signature over this spec, price and deadline (EIP-712 JobAuthorization)"
        : `the authorization's signature is not a usable ECDSA signature: ${checked.reason}`;
    throw unprocessable(detail, [{ path: "authorization.signature", message: checked.reason }]);
  }
  return checked.signature;
}
