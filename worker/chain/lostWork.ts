// Chain work a lost enqueue may have dropped: transitions ask the relayer once
// and only log a failure, so the sweeper asks again for what is still open.
import { and, eq, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import { terminalStatuses } from "../../protocol/jobStatus.ts";
import { relayerOf } from "../bindings/objects.ts";
import { isChainConfigured } from "../config/config.ts";
import { chainEvents, jobs } from "../db/schema.ts";
import type { JobContext } from "../jobs/context.ts";
import { outstandingChainIntents } from "./settlementHooks.ts";

/** How long a job's chain work may take to show on chain before it is asked for again. */
const CHAIN_GRACE_MS = 2 * 60_000;
const BATCH = 500;

/**
 * Chain work a lost enqueue may have dropped (transitions ask the relayer once and
 * only log a failure): reservations the chain never showed, and finished jobs
 * whose result or release is not on chain either. Their intents are derived again
 * and sent; the relayer ignores the ones it already has.
 */
export async function restoreChainWork(ctx: JobContext, now: number): Promise<void> {
  const { db, config } = ctx;
  if (!isChainConfigured(config) || !config.chain.relayerAddress) return;
  const stale = now - CHAIN_GRACE_MS;
  const closedOnChain = db
    .select({ one: sql`1` })
    .from(chainEvents)
    .where(and(eq(chainEvents.chainJobId, jobs.chainJobId), inArray(chainEvents.name, ["ResultSubmitted", "JobReleased"])));
  const open = await db
    .select()
    .from(jobs)
    .where(
      and(
        isNotNull(jobs.authSignature),
        or(
          and(eq(jobs.settlement, "reserving"), lt(jobs.createdAt, stale)),
          and(eq(jobs.settlement, "pending"), inArray(jobs.status, [...terminalStatuses]), lt(jobs.completedAt, stale), sql`NOT EXISTS ${closedOnChain}`),
        ),
      ),
    )
    .limit(BATCH);
  const intents = open.flatMap(outstandingChainIntents);
  if (intents.length > 0) await relayerOf(ctx.env, config).enqueue(intents);
}

