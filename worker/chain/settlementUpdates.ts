// Where chain outcomes meet jobs: a job's settlement follows its on-chain
// status, and each change is announced by webhook.
import { and, eq } from "drizzle-orm";
import { isTerminal, type JobStatus, type SettlementStatus } from "../../protocol/jobStatus.ts";
import type { WebhookEventType } from "../../protocol/webhookEvents.ts";
import { getConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import type { Env } from "../env.ts";
import { IllegalTransitionError } from "../jobs/stateMachine.ts";
import { transitionJob } from "../jobs/transitions.ts";
import { dispatchJobEvent } from "../webhooks/dispatch.ts";
import { redactRpcUrl } from "./safeErrorText.ts";

/** The contract's JobStatus enum (contracts/src/PondTypes.sol), in order. */
export const onChainStatuses = ["none", "reserved", "reported", "challenged", "settled", "released", "refunded"] as const;

export function settlementFor(onChain: number): SettlementStatus | undefined {
  switch (onChainStatuses[onChain]) {
    case "reserved":
    case "reported":
      return "pending";
    case "challenged":
      return "challenged";
    case "settled":
      return "settled";
    case "released":
    case "refunded":
      return "refunded";
    default:
      return undefined;
  }
}

const eventFor: Partial<Record<SettlementStatus, WebhookEventType>> = {
  challenged: "job.challenged",
  settled: "job.settled",
  refunded: "job.refunded",
};

/** Sets a job's settlement; announces it when `announce` (a first sighting of the event, not a re-read). */
export async function applySettlement(env: Env, chainJobId: string, settlement: SettlementStatus, announce: boolean): Promise<void> {
  const db = createDb(env.DB);
  const [row] = await db.update(jobs).set({ settlement }).where(eq(jobs.chainJobId, chainJobId)).returning();
  const event = eventFor[settlement];
  if (!row || !announce || !event) return;
  const config = getConfig(env);
  await dispatchJobEvent({ db, queue: env.WEBHOOKS, baseUrl: config.publicUrl ?? "" }, row, event);
}

/**
 * The reservation could not be made: the job cannot be paid for. Only a job whose
 * reservation was never seen on chain (`reserving`) is marked; a running job is
 * failed, so it does not run unpaid, while a finished one keeps its status (a
 * succeeded job stays succeeded, unpaid). Safe to call again.
 */
export async function markUnfunded(env: Env, jobId: string, reason: string): Promise<void> {
  const config = getConfig(env);
  const db = createDb(env.DB);
  const [row] = await db
    .update(jobs)
    .set({ settlement: "unfunded" })
    .where(and(eq(jobs.id, jobId), eq(jobs.settlement, "reserving")))
    .returning();
  if (!row || isTerminal(row.status as JobStatus)) return;
  const why = redactRpcUrl(reason, config.chain.rpcUrl);
  try {
    await transitionJob({ env, db, config, baseUrl: config.publicUrl ?? "" }, jobId, "failed", { error: `the escrow reservation failed (${why}); deposit more and try again` }, "chain");
  } catch (error) {
    // Finished meanwhile: its status is its own.
    if (!(error instanceof IllegalTransitionError)) throw error;
  }
}
