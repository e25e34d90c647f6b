// How a new job will be paid. With the chain configured, the creator's signed
// JobAuthorization is required, checked, and the escrow must cover the price;
// without it, jobs are not settled on chain.
import { eq } from "drizzle-orm";
import type { Address } from "viem";
import { chainJobIdOf } from "../../protocol/eip712.ts";
import type { JobAuthorizationInput, JobSpec } from "../../protocol/jobSpec.ts";
import type { SettlementStatus } from "../../protocol/jobStatus.ts";
import { indexerOf } from "../bindings/objects.ts";
import { marketDomain } from "../config/chains.ts";
import { isChainConfigured, type Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import { ApiError, unprocessable } from "../errors/problem.ts";
import { jobKeyUsed } from "../jobs/insert.ts";
import { checkAuthorization } from "./authorization.ts";
import { escrowOf } from "./balances.ts";

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

export async function fundingFor(args: { env: Env; db: Db; config: Config; account: Address; jobId: string; spec: JobSpec; authorization?: JobAuthorizationInput }): Promise<Funding> {
  const { config, authorization, spec } = args;
  if (!isChainConfigured(config)) return unsettledFunding(args.jobId);
  if (!authorization) {
    throw unprocessable("this API settles jobs on chain: sign a JobAuthorization for the job (GET /v1/chain has the EIP-712 domain) and send it as `authorization`", [
      { path: "authorization", message: "required" },
    ]);
  }
  await checkAuthorization({ creator: args.account, spec, authorization, domain: marketDomain(config), nowMs: Date.now() });
  // Checked here for a quick answer; the unique index on jobs.chain_job_id settles a race (jobs/insert.ts).
  const taken = await args.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.chainJobId, authorization.job_key));
  if (taken.length > 0) throw jobKeyUsed();

  const price = BigInt(spec.max_price_wei);
  let escrow = await escrowOf(args.db, args.account);
  if (escrow.availableWei < price) {
    // The deposit may be newer than the index: read the chain once before refusing.
    await indexerOf(args.env).sync();
    escrow = await escrowOf(args.db, args.account);
  }
  if (escrow.availableWei < price) {
    throw new ApiError(
      402,
      "insufficient-escrow",
      "Insufficient escrow",
      `your escrow has ${escrow.availableWei} wei free; this job may cost up to ${price} wei: deposit at least ${price - escrow.availableWei} wei more`,
    );
  }
  return { chainJobId: authorization.job_key, authSignature: authorization.signature, authDeadline: authorization.deadline, settlement: "reserving" };
}
