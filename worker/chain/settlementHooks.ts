// What each job transition asks of the chain, for jobs a creator authorized:
// reserve the escrow when queued, post the signed result when it succeeds,
// release the reservation when it fails, is canceled or times out.
import type { Hex } from "viem";
import { specHashOf } from "../../protocol/eip712.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { isTolerant } from "../../protocol/verification.ts";
import { relayerOf } from "../bindings/objects.ts";
import { isChainConfigured } from "../config/config.ts";
import type { TransitionListener } from "../jobs/context.ts";
import type { JobRow } from "../jobs/serialize.ts";
import type { Intent } from "./intents.ts";

export function chainIntentsFor(row: JobRow, from: JobStatus | null): Intent[] {
  if (!isAuthorized(row)) return [];
  const to = row.status as JobStatus;
  if (from === null && to === "queued") return [reserveIntentOf(row)];
  return closingIntentsOf(row);
}

/**
 * Everything the chain should have been asked for a job so far: its reservation,
 * and once it finished, its result or release. The sweeper sends these again for
 * jobs whose chain work is still open, in case an enqueue was lost; the relayer
 * keeps one intent per kind and job, so asking twice is harmless.
 */
export function outstandingChainIntents(row: JobRow): Intent[] {
  if (!isAuthorized(row)) return [];
  return [reserveIntentOf(row), ...closingIntentsOf(row)];
}

function isAuthorized(row: JobRow): boolean {
  return row.authSignature !== null && row.authDeadline !== null;
}

function reserveIntentOf(row: JobRow): Intent {
  const spec = row.spec as JobSpec;
  return {
    kind: "reserve",
    jobId: row.id,
    chainJobId: row.chainJobId as Hex,
    payload: {
      creator: row.account as Hex,
      specHash: specHashOf(spec),
      maxPriceWei: spec.max_price_wei,
      deadline: row.authDeadline!,
      // As the creator signed it (worker/chain/authorization.ts checked the signature with this very flag).
      tolerant: isTolerant(spec),
      signature: row.authSignature as Hex,
    },
  };
}

/** A succeeded job's claim, or the release of one that did not succeed; nothing while it runs. */
function closingIntentsOf(row: JobRow): Intent[] {
  const to = row.status as JobStatus;
  const base = { jobId: row.id, chainJobId: row.chainJobId as Hex };
  if (to === "succeeded" && row.amountWei !== null && row.resultSignature !== null && row.output) {
    return [{ ...base, kind: "result", payload: { resultHash: (row.output as OutputManifest).result_hash as Hex, amountWei: row.amountWei, signature: row.resultSignature as Hex } }];
  }
  if (to === "failed" || to === "canceled" || to === "timed_out") return [{ ...base, kind: "release", payload: {} }];
  return [];
}

export const announceToChain: TransitionListener = async (ctx, { row, from }) => {
  if (!isChainConfigured(ctx.config) || !ctx.config.chain.relayerAddress) return;
  const intents = chainIntentsFor(row, from);
  if (intents.length > 0) await relayerOf(ctx.env, ctx.config).enqueue(intents);
};
