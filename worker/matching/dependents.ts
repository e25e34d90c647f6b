// Jobs whose inputs come from another job's outputs, when that job ends: each is
// resolved against its sources (jobs/inputResolution.ts) and, once every input is
// known, handed to matching; a source that failed fails it, saying why.
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { JobContext, TransitionListener } from "../jobs/context.ts";
import { resolveDependent } from "../jobs/inputResolution.ts";
import { matchmakerForSpec, queuedJobOf, readyForMatching } from "./scheduling.ts";

/** Dependents resolved at once: each costs a few D1 round trips. */
const PARALLEL = 8;

/** Resolves one waiting job; if that made it ready, its matchmaker gets it (a paid job once its reservation is on chain: the indexer hands it over). */
export async function resolveAndHandOver(ctx: JobContext, jobId: string): Promise<void> {
  const ready = await resolveDependent(ctx, jobId);
  if (ready && readyForMatching(ready)) await matchmakerForSpec(ctx.env, ready.spec as JobSpec).ensureQueued(queuedJobOf(ready));
}

export async function resolveAll(ctx: JobContext, jobIds: readonly string[]): Promise<void> {
  for (let start = 0; start < jobIds.length; start += PARALLEL) {
    const results = await Promise.allSettled(jobIds.slice(start, start + PARALLEL).map((id) => resolveAndHandOver(ctx, id)));
    // One dependent that cannot be resolved now never keeps the others back; the sweeper tries it again.
    for (const [i, result] of results.entries()) if (result.status === "rejected") console.error(`resolving the inputs of ${jobIds[start + i]} failed:`, result.reason);
  }
}

/** A job ended: the jobs whose inputs come from it learn how. */
export const announceToDependents: TransitionListener = async (ctx, { dependents }) => {
  // Only an end carries them, read in the batch that wrote it (jobs/transitions.ts); the sweeper resolves those of an announcement lost.
  if (dependents && dependents.length > 0) await resolveAll(ctx, dependents);
};
