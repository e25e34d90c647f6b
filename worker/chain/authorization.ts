// Checks a creator's JobAuthorization when a job is created: signed by the
// creator, over this very spec and price, with a deadline that leaves room
// for the job to be matched, run and reported.
import type { Address, Hex, TypedDataDomain } from "viem";
import { earliestDeadline } from "../../protocol/deadlines.ts";
import { jobAuthorizationMessage, jobAuthorizationTypes } from "../../protocol/eip712.ts";
import type { JobAuthorizationInput, JobSpec } from "../../protocol/jobSpec.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { isTolerant } from "../../protocol/verification.ts";
import { unprocessable } from "../errors/problem.ts";
import { checkTypedSignature } from "../security/signatures.ts";

/** Funds should not be held for longer than this by one authorization. */
export const MAX_AUTHORIZATION_S = jobLimits.maxAuthorizationS;

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
    message: jobAuthorizationMessage(spec, authorization.job_key as Hex, authorization.deadline),
    signature: authorization.signature,
  });
  if (!checked.ok) {
    const detail = checked.problem === "wrong-signer" ? await wrongSignerDetail(args) : `the authorization's signature is not a usable ECDSA signature: ${checked.reason}`;
    throw unprocessable(detail, [{ path: "authorization.signature", message: checked.reason }]);
  }
  return checked.signature;
}

/**
 * Why a well-formed signature is not the creator's over this job. The likeliest
 * mistake gets its own words: a signature made with the other `tolerant` flag
 * than the spec's `verify` calls for (an older client, or one that left it out).
 */
async function wrongSignerDetail(args: { creator: Address; spec: JobSpec; authorization: JobAuthorizationInput; domain: TypedDataDomain }): Promise<string> {
  const { authorization, spec } = args;
  const tolerant = isTolerant(spec);
  const otherFlag = await checkTypedSignature({
    address: args.creator,
    domain: args.domain,
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    message: { ...jobAuthorizationMessage(spec, authorization.job_key as Hex, authorization.deadline), tolerant: !tolerant },
    signature: authorization.signature,
  });
  if (otherFlag.ok) {
    return tolerant
      ? "the authorization was signed with tolerant = false, but this spec's verify.mode is tolerant: sign the JobAuthorization again with tolerant = true"
      : "the authorization was signed with tolerant = true, but this spec is verified exactly (no verify, or verify.mode exact): sign the JobAuthorization again with tolerant = false";
  }
  return "the authorization is not your signature over this spec, price, deadline and tolerant flag (EIP-712 JobAuthorization)";
}
