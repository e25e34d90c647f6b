// How a new job will be paid. With the chain configured, the creator's signed
// JobAuthorization is required and checked; the escrow is checked when the job
// is admitted (chain/admission.ts). Without the chain, jobs are not settled.
import type { Address } from "viem";
import { chainJobIdOf } from "../../protocol/eip712.ts";
import type { JobAuthorizationInput, JobSpec } from "../../protocol/jobSpec.ts";
import type { SettlementStatus } from "../../protocol/jobStatus.ts";
import { marketDomain } from "../config/chains.ts";
import { isChainConfigured, type Config } from "../config/config.ts";
import { unprocessable } from "../errors/problem.ts";
import { checkAuthorization } from "./authorization.ts";

export interface Funding {
  chainJobId: string;
  authSignature: string | null;
  authDeadline: number | null;
  settlement: SettlementStatus;
}

/** A job on a Pond that does not settle on chain. */
export function unsettledFunding(jobId: string): Funding {
  return { chainJobId: chainJobIdOf(jobId), authSignature: null, authDeadline: null, settlement: "none" };
}

/** Whether the job is paid from escrow, and so must be admitted against it. */
export const isPaid = (funding: Funding): boolean => funding.settlement === "reserving";

export async function fundingFor(args: { config: Config; account: Address; jobId: string; spec: JobSpec; authorization?: JobAuthorizationInput }): Promise<Funding> {
  const { config, authorization, spec } = args;
  if (!isChainConfigured(config)) return unsettledFunding(args.jobId);
  if (!authorization) {
    throw unprocessable("this API settles jobs on chain: sign a JobAuthorization for the job (GET /v1/chain has the EIP-712 domain) and send it as `authorization`", [
      { path: "authorization", message: "required" },
    ]);
  }
  // The canonical form of the creator's signature is what the relayer will put on chain.
  const signature = await checkAuthorization({ creator: args.account, spec, authorization, domain: marketDomain(config), nowMs: Date.now() });
  return { chainJobId: authorization.job_key, authSignature: signature, authDeadline: authorization.deadline, settlement: "reserving" };
}
