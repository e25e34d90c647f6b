// A creator's EIP-712 JobAuthorization over a spec: what lets a job be paid from
// their escrow. A fresh random job key each time; a deadline that leaves room to
// match, run and report the job, and to wait for its inputs from other jobs first.
import { toHex, type LocalAccount } from "viem";
import type { ChainInfo } from "../protocol/account.ts";
import { jobAuthorizationMessage, jobAuthorizationTypes } from "../protocol/eip712.ts";
import type { JobAuthorizationInput, JobSpec } from "../protocol/jobSpec.ts";
import { jobLimits } from "../protocol/limits.ts";

/** Past the API's own margin (protocol/deadlines.ts RESULT_MARGIN_S), for clock skew and the trip to the API. */
const AUTHORIZATION_MARGIN_S = 600;
/** Short of the API's furthest deadline, for clock skew. */
const LATEST_MARGIN_S = 120;

export type TypedDataSigner = Pick<LocalAccount, "signTypedData">;

export interface AuthorizationOptions {
  /** Seconds the job may wait before it can be matched: its source jobs' own bounds (sdk/inputSources.ts). */
  waitS?: number;
}

export async function signJobAuthorization(wallet: TypedDataSigner, chain: ChainInfo, spec: JobSpec, options: AuthorizationOptions = {}): Promise<JobAuthorizationInput> {
  const now = Math.ceil(Date.now() / 1000);
  const wanted = now + (options.waitS ?? 0) + (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) + spec.timeout_s + AUTHORIZATION_MARGIN_S;
  // A wait longer than the API allows is signed to its limit: the job fails, saying so, if its inputs come too late.
  const deadline = Math.min(wanted, now + jobLimits.maxAuthorizationS - LATEST_MARGIN_S);
  const jobKey = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const signature = await wallet.signTypedData({
    domain: { ...chain.eip712_domain, verifyingContract: chain.eip712_domain.verifyingContract as `0x${string}` },
    types: jobAuthorizationTypes,
    primaryType: "JobAuthorization",
    // Its tolerant flag comes from the spec's `verify`: the contract judges a challenge of the job as signed here.
    message: jobAuthorizationMessage(spec, jobKey, deadline),
  });
  return { job_key: jobKey, deadline, signature };
}
