// The cron's sweep (every minute): whatever a lost message or a crash left
// behind is finished here, so no job and no webhook stays stuck forever.
import { and, eq, inArray, not, sql } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { restoreChainWork } from "../chain/lostWork.ts";
import { purgeRelayInputs } from "../data/relayRetention.ts";
import { idempotencyKeys, jobs } from "../db/schema.ts";
import type { JobContext } from "../jobs/context.ts";
import { awaitsInputsSql, dependentsWithEndedSources } from "../jobs/inputResolution.ts";
import { transitionIfStill } from "../jobs/transitions.ts";
import { resolveAll } from "../matching/dependents.ts";
import { matchmakerForSpec, queuedJobOf, readyForMatching } from "../matching/scheduling.ts";
import { resendLostWebhooks } from "../webhooks/outbox.ts";

/** How long past its own deadline a job may be left before the sweeper ends it. */
const DEADLINE_SLACK_MS = 2 * 60_000;
const MAX_STARTING_MS = 60 * 60_000;

export async function sweep(ctx: JobContext, now = Date.now()): Promise<void> {
  const { db } = ctx;

  // Transitions whose webhook fan-out never happened, deliveries never queued.
  await resendLostWebhooks(ctx, now);

  // Jobs waiting for inputs from jobs that have ended, whose end nobody heard (a lost announcement, a restart): resolved or failed now.
  await resolveAll(ctx, await dependentsWithEndedSources(db, 1000, now));

  // Queued jobs: make sure their matchmaker has them; fail those long past their match deadline. Not those whose
  // inputs come from jobs still under way: their match window has not started (their end bounds the wait), and
  // however many there are, they must not take the page from the rest.
  const queued = await db.select().from(jobs).where(and(eq(jobs.status, "queued"), not(awaitsInputsSql))).limit(1000);
  for (const job of queued) {
    const spec = job.spec as JobSpec;
    // The window starts when its inputs were all known, for a job whose inputs came from other jobs.
    const deadline = (job.inputsReadyAt ?? job.createdAt) + (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) * 1000;
    if (job.attempt === 0 && deadline + DEADLINE_SLACK_MS < now) {
      await endJob(ctx, job.id, "failed", "the network had no capacity for this job within its match timeout");
    } else if (readyForMatching(job)) {
      await matchmakerForSpec(ctx.env, spec).ensureQueued(queuedJobOf(job));
    }
  }

  // Running jobs whose provider stopped reporting.
  const running = await db.select().from(jobs).where(inArray(jobs.status, ["starting", "processing"])).limit(1000);
  for (const job of running) {
    const spec = job.spec as JobSpec;
    if (job.status === "processing" && job.startedAt !== null && job.startedAt + spec.timeout_s * 1000 + DEADLINE_SLACK_MS < now) {
      await endJob(ctx, job.id, "timed_out", "the provider did not report a result within the job's timeout");
    }
    if (job.status === "starting" && job.assignedAt !== null && job.assignedAt + MAX_STARTING_MS < now) {
      await endJob(ctx, job.id, "failed", "the provider never started the container");
    }
  }

  await restoreChainWork(ctx, now);

  // Inputs in the relay that no provider or mediator can need any more.
  await purgeRelayInputs(db, ctx.env.OUTPUTS, now);

  await db.delete(idempotencyKeys).where(sql`${idempotencyKeys.expiresAt} < ${now}`);
}

async function endJob(ctx: JobContext, jobId: string, to: JobStatus, error: string): Promise<void> {
  // Moved on by someone else since we looked: nothing left to do.
  await transitionIfStill(ctx, jobId, to, { error }, "sweeper");
}
