// The seam between the job lifecycle and the marketplace: what each status
// change means for the matchmakers and for the provider holding the job.
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { hubOf, matchmakerOf } from "../bindings/objects.ts";
import { jobClassOf } from "../bindings/sharding.ts";
import type { TransitionListener } from "../jobs/context.ts";
import { awaitsInputs, providerSpecOf } from "../jobs/inputSources.ts";
import type { JobRow } from "../jobs/serialize.ts";
import type { QueuedJob } from "./matcher.ts";
import { warmKeysOf } from "./warmStore.ts";

/** The matchmaker that queues jobs like this one. */
export function matchmakerForSpec(env: Env, spec: JobSpec) {
  return matchmakerOf(env, jobClassOf(spec.resources));
}

/** What the matcher weighs of a spec: its resources, price, timeout, what may be warm for it, and whether it needs egress (a queued job's, or a quote's). */
export function matchTermsOf(spec: JobSpec): Omit<QueuedJob, "id" | "matchDeadline" | "excluded"> {
  const warm = warmKeysOf(spec);
  return {
    resources: spec.resources,
    maxPriceWei: BigInt(spec.max_price_wei),
    timeoutS: spec.timeout_s,
    ...(warm ? { warm } : {}),
    ...(spec.network ? { needsEgress: true } : {}),
  };
}

export function queuedJobOf(row: JobRow): QueuedJob {
  const spec = row.spec as JobSpec;
  const matchTimeoutS = spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS;
  return {
    id: row.id,
    // With its inputs from other jobs resolved: a provider holding those outputs is warm for it too.
    ...matchTermsOf(providerSpecOf(row)),
    // A requeued job gets a fresh match window from the moment it came back.
    matchDeadline: Date.now() + matchTimeoutS * 1000,
  };
}

/** Whether a queued job may be offered: its reservation is on chain (or it needs none) and its inputs are all known. */
export function readyForMatching(row: JobRow): boolean {
  return row.settlement !== "reserving" && !awaitsInputs(row);
}

export const announceToMatching: TransitionListener = async (ctx, { row, from, origin }) => {
  const to = row.status as JobStatus;
  const spec = row.spec as JobSpec;
  const work: Promise<unknown>[] = [];
  // A job whose escrow reservation is not on chain yet waits: the indexer hands it over once it is (chain/settlementUpdates.ts).
  // So does one whose inputs come from jobs that have not succeeded yet: their end hands it over (dependents.ts).
  if (to === "queued" && readyForMatching(row)) work.push(matchmakerForSpec(ctx.env, spec).enqueue(queuedJobOf(row)));
  if (from === "queued" && to !== "starting" && origin !== "matchmaker") work.push(matchmakerForSpec(ctx.env, spec).forget(row.id));
  if (isTerminal(to) && from !== "queued" && row.provider && origin !== "hub") {
    work.push(hubOf(ctx.env, ctx.config, row.provider).jobEnded(row.provider, row.id, to));
  }
  await Promise.all(work);
};
