// Where chain outcomes meet jobs: a job's settlement follows its on-chain
// status, and each change is announced by webhook.
import { and, eq } from "drizzle-orm";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { isTerminal, type JobStatus, type SettlementStatus } from "../../protocol/jobStatus.ts";
import type { WebhookEventType } from "../../protocol/webhookEvents.ts";
import { jobs } from "../db/schema.ts";
import type { JobContext } from "../jobs/context.ts";
import { transitionIfStill } from "../jobs/transitions.ts";
import { matchmakerForSpec, queuedJobOf, readyForMatching } from "../matching/scheduling.ts";
import { redactRpcUrl } from "../security/safeErrorText.ts";
import { dispatchJobEvent } from "../webhooks/outbox.ts";

const eventFor: Partial<Record<SettlementStatus, WebhookEventType>> = {
  challenged: "job.challenged",
  settled: "job.settled",
  refunded: "job.refunded",
};

/**
 * Sets a job's settlement; announces it when `announce` (a first sighting of the
 * event, not a re-read). A queued job whose reservation is now on chain goes to
 * its matchmaker: until then no provider is offered work it might not be paid for.
 */
export async function applySettlement(ctx: JobContext, chainJobId: string, settlement: SettlementStatus, announce: boolean): Promise<void> {
  const [row] = await ctx.db.update(jobs).set({ settlement }).where(eq(jobs.chainJobId, chainJobId)).returning();
  if (!row) return;
  // One whose inputs come from jobs that have not succeeded yet waits on: their end hands it over (matching/dependents.ts).
  if (settlement === "pending" && row.status === "queued" && readyForMatching(row)) await matchmakerForSpec(ctx.env, row.spec as JobSpec).ensureQueued(queuedJobOf(row));
  const event = eventFor[settlement];
  if (announce && event) await dispatchJobEvent(ctx, row, event);
}

/**
 * The reservation could not be made: the job cannot be paid for. Only a job whose
 * reservation was never seen on chain (`reserving`) is marked; a running job is
 * failed, so it does not run unpaid, while a finished one keeps its status (a
 * succeeded job stays succeeded, unpaid). Safe to call again.
 */
export async function markUnfunded(ctx: JobContext, jobId: string, reason: string): Promise<void> {
  const [row] = await ctx.db
    .update(jobs)
    .set({ settlement: "unfunded" })
    .where(and(eq(jobs.id, jobId), eq(jobs.settlement, "reserving")))
    .returning();
  if (!row || isTerminal(row.status as JobStatus)) return;
  const why = redactRpcUrl(reason, ctx.config.chain.rpcUrl);
  // Finished meanwhile: its status is its own.
  await transitionIfStill(ctx, jobId, "failed", { error: `the escrow reservation failed (${why}); deposit more and try again` }, "chain");
}
