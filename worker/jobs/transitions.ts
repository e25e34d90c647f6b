// The only writer of a job's `status`. Every change is checked against the
// state machine, applied with compare-and-set (so two writers cannot both win),
// recorded in job_transitions with its time, and then announced to the
// context's listeners (announce.ts). New jobs are written by insert.ts.
import { eq, sql } from "drizzle-orm";
import type { EgressUsage } from "../../protocol/egress.ts";
import type { JobGpuUsage } from "../../protocol/gpuUsage.ts";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import type { OutputManifest } from "../../protocol/manifest.ts";
import { eventForStatus } from "../../protocol/webhookEvents.ts";
import type { Db } from "../db/client.ts";
import { jobs, jobTransitions } from "../db/schema.ts";
import { announceTransition } from "./announce.ts";
import { dependentsQuery } from "./inputSourceLinks.ts";
import { withArrival, type ResultArrival } from "./transferMetrics.ts";
import type { EventAudience, JobContext, TransitionOrigin } from "./context.ts";
import type { JobRow } from "./serialize.ts";
import { assertTransition, canTransition, IllegalTransitionError } from "./stateMachine.ts";

export interface TransitionPatch {
  statusDetail?: string | null;
  error?: string | null;
  exitCode?: number | null;
  provider?: string;
  output?: OutputManifest;
  /** What the provider agreed to when it took the job. */
  agreement?: { rateWeiPerSecond: string; maxAmountWei: string };
  /** The provider's signed claim over its result. */
  claim?: { amountWei: string; signature: string };
  /** How long the container ran, by the provider's engine's clock. */
  containerRunMs?: number;
  /** What the job's egress moved, as its provider's proxy counted it. */
  egressUsage?: EgressUsage;
  /** What the job's GPUs did, as its provider sampled them. */
  gpuUsage?: JobGpuUsage;
  /** How its inputs and image came (a result's metrics): written with the status, so whoever hears it ended finds them. */
  arrival?: ResultArrival;
}

export interface TransitionGuard {
  /** Refuse unless the job is assigned to this provider. */
  provider?: string;
}

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId} does not exist`);
    this.name = "JobNotFoundError";
  }
}

export class NotAssignedError extends Error {
  constructor(jobId: string, provider: string) {
    super(`job ${jobId} is not assigned to provider ${provider}`);
    this.name = "NotAssignedError";
  }
}

const MAX_RACE_RETRIES = 3;

/** What a compare-and-set starts from: the status it expects, and what decides its guard and its audience. */
export type SeenJob = Pick<JobRow, "id" | "status" | "provider" | "account" | "webhook" | "webhookEventsFilter">;

export async function transitionJob(
  ctx: JobContext,
  jobId: string,
  to: JobStatus,
  patch: TransitionPatch,
  origin: TransitionOrigin,
  guard: TransitionGuard = {},
  /**
   * The job as the caller last saw it (read, or as its own last transition left it): the first try's
   * compare-and-set starts from it rather than reading it again. A stale one costs a read, never a wrong write.
   */
  seen?: SeenJob,
): Promise<JobRow> {
  for (let round = 0; round < MAX_RACE_RETRIES; round++) {
    const fromSeen = round === 0 && seen?.id === jobId;
    const current = fromSeen ? seen : (await ctx.db.select().from(jobs).where(eq(jobs.id, jobId)))[0];
    if (!current) throw new JobNotFoundError(jobId);
    const from = current.status as JobStatus;
    // The provider the guard names, when the job is not that provider's.
    const notAssignedTo = guard.provider !== undefined && current.provider !== guard.provider ? guard.provider : undefined;
    // Only D1's word refuses: a copy that would is looked up again.
    if (fromSeen && (!canTransition(from, to) || notAssignedTo !== undefined)) continue;
    assertTransition(from, to);
    if (notAssignedTo !== undefined) throw new NotAssignedError(jobId, notAssignedTo);

    const now = Date.now();
    const detail = patch.statusDetail ?? patch.error ?? null;
    const ended = isTerminal(to);
    const [updated, inserted, dependents] = await ctx.db.batch([
      ctx.db
        .update(jobs)
        .set({ status: to, ...columnsFor(from, to, patch, now) })
        // The guard's provider too: a row seen before another provider took the job (a stale copy, a read
        // overtaken) must not let the first one's word through.
        .where(sql`${jobs.id} = ${jobId} AND ${jobs.status} = ${from}${guard.provider === undefined ? sql`` : sql` AND ${jobs.provider} = ${guard.provider}`}`)
        .returning(),
      // Written only if the compare-and-set above changed the row. Columns in table order.
      ctx.db
        .insert(jobTransitions)
        .select(sql`SELECT NULL, ${jobId}, ${from}, ${to}, ${detail}, ${now}, ${ctx.outbox.dispatchedAtSql(eventForStatus(to), audienceOf(current), now)} WHERE changes() = 1`)
        .returning({ id: jobTransitions.id, dispatchedAt: jobTransitions.dispatchedAt }),
      // Who waits for this job's outputs, read in the same round trip rather than by its listener after it.
      ...(ended ? [dependentsQuery(ctx.db, jobId)] : []),
    ]);
    const row = updated[0];
    if (!row) continue; // Someone else moved the job first: look again.
    await announceTransition(ctx, { row, from, origin, record: inserted[0], ...(dependents ? { dependents: dependents.map((d) => d.jobId) } : {}) });
    return row;
  }
  const latest = (await ctx.db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, jobId)))[0];
  throw new IllegalTransitionError((latest?.status ?? "queued") as JobStatus, to);
}

/** Whether a transition failed because the job had moved on first: another status, another provider, or gone. */
export function lostTheRace(error: unknown): boolean {
  return error instanceof IllegalTransitionError || error instanceof NotAssignedError || error instanceof JobNotFoundError;
}

/** transitionJob for a writer that may lose to another: undefined when the job had already moved on. */
export async function transitionIfStill(...args: Parameters<typeof transitionJob>): Promise<JobRow | undefined> {
  try {
    return await transitionJob(...args);
  } catch (error) {
    if (lostTheRace(error)) return undefined;
    throw error;
  }
}

function audienceOf(job: SeenJob): EventAudience {
  return { account: job.account, webhook: job.webhook, webhookEventsFilter: job.webhookEventsFilter as string[] };
}

function columnsFor(from: JobStatus, to: JobStatus, patch: TransitionPatch, now: number) {
  const columns: Partial<typeof jobs.$inferInsert> = {};
  if (patch.statusDetail !== undefined) columns.statusDetail = patch.statusDetail;
  else columns.statusDetail = null;
  if (patch.error !== undefined) columns.error = patch.error;
  if (patch.exitCode !== undefined) columns.exitCode = patch.exitCode;
  if (patch.output !== undefined) columns.output = patch.output;
  if (patch.containerRunMs !== undefined) columns.containerRunMs = Math.round(patch.containerRunMs);
  if (patch.egressUsage !== undefined) columns.egressUsage = patch.egressUsage;
  if (patch.gpuUsage !== undefined) columns.gpuUsage = patch.gpuUsage;
  const arrival = patch.arrival && withArrival(patch.arrival);
  if (arrival) Object.assign(columns, { transferMetrics: arrival });
  if (patch.agreement !== undefined) {
    columns.rateWeiPerSecond = patch.agreement.rateWeiPerSecond;
    columns.maxAmountWei = patch.agreement.maxAmountWei;
  }
  if (patch.claim !== undefined) {
    columns.amountWei = patch.claim.amountWei;
    columns.resultSignature = patch.claim.signature;
  }
  if (to === "starting") {
    columns.assignedAt = now;
    if (patch.provider !== undefined) columns.provider = patch.provider;
  }
  if (to === "processing") columns.startedAt = now;
  if (to === "queued" && from !== "queued") {
    // Requeued after its provider was lost: it starts over with a new attempt.
    Object.assign(columns, { provider: null, assignedAt: null, startedAt: null, attempt: sql`${jobs.attempt} + 1` });
  }
  if (isTerminal(to)) columns.completedAt = now;
  return columns;
}

/** The provider's word on where its job stands (e.g. pull progress), without changing its status. */
export async function setStatusDetail(db: Db, jobId: string, status: JobStatus, detail: string | null, provider: string): Promise<void> {
  await db.update(jobs).set({ statusDetail: detail }).where(sql`${jobs.id} = ${jobId} AND ${jobs.status} = ${status} AND ${jobs.provider} = ${provider}`);
}
