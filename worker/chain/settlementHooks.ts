// What each job transition asks of the chain, for jobs a creator authorized:
// reserve the escrow when queued, post the signed result when it succeeds,
// release the reservation when it fails, is canceled or times out.
import type { Hex } from "viem";
import { specHashOf } from "../../protocol/eip712.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import type { JobContext } from "../jobs/transitions.ts";
import type { JobRow } from "../jobs/serialize.ts";
import { isChainConfigured } from "./clients.ts";
import type { Intent } from "./intents.ts";
import { relayerFor } from "./relayer.ts";

export function chainIntentsFor(row: JobRow, from: JobStatus | null): Intent[] {
  if (!row.authSignature || row.authDeadline === null) return [];
  const to = row.status as JobStatus;
  const spec = row.spec as JobSpec;
  const base = { jobId: row.id, chainJobId: row.chainJobId as Hex };
  if (from === null && to === "queued") {
    return [
      {
        ...base,
        kind: "reserve",
        payload: { creator: row.account as Hex, specHash: specHashOf(spec), maxPriceWei: spec.max_price_wei, deadline: row.authDeadline, signature: row.authSignature as Hex },
      },
    ];
  }
  if (to === "succeeded" && row.amountWei !== null && row.resultSignature !== null && row.output) {
    return [{ ...base, kind: "result", payload: { resultHash: (row.output as OutputManifest).result_hash as Hex, amountWei: row.amountWei, signature: row.resultSignature as Hex } }];
  }
  if (to === "failed" || to === "canceled" || to === "timed_out") return [{ ...base, kind: "release", payload: {} }];
  return [];
}

export async function onJobTransitionForChain(ctx: JobContext, row: JobRow, from: JobStatus | null): Promise<void> {
  if (!isChainConfigured(ctx.config) || !ctx.config.chain.relayerAddress) return;
  const intents = chainIntentsFor(row, from);
  if (intents.length > 0) await relayerFor(ctx.env, ctx.config).enqueue(intents);
}
