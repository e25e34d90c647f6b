// A batch's early stopping, one pass at a time (objects/SweepJudge.ts runs the
// passes): the batch's jobs are read from D1, the curves of the rule's metric
// that moved since the last pass are read from the jobs' rooms, and the running
// jobs the median stopping rule stops are canceled, each with its reason, as
// their creator's cancel would. A job that ended meanwhile is left as it ended.
import { and, eq, inArray } from "drizzle-orm";
import { canceledByCreator } from "../../protocol/job.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { medianStops, type Curve } from "../../protocol/medianRule.ts";
import { LatestReported } from "../../protocol/reportedMetrics.ts";
import { stopRuleOf, type StopEarly } from "../../protocol/stopEarly.ts";
import { jobRoomOf } from "../bindings/objects.ts";
import { inPieces } from "../db/listParameters.ts";
import { jobs } from "../db/schema.ts";
import type { JobContext } from "../jobs/context.ts";
import { IllegalTransitionError } from "../jobs/stateMachine.ts";
import { transitionJob } from "../jobs/transitions.ts";

/** What a judge is started with, and keeps. */
export interface SweepCase {
  account: string;
  jobIds: string[];
  stopEarly: StopEarly;
  startedAt: number;
  /** Past this no job of the batch can still run (`judgeEndsBy`): the judge lets the batch go whatever it finds. */
  endBy: number;
}

/** Beyond a job's match timeout and its attempts' timeouts: a wait for its inputs' source jobs, say. */
const LIFE_MARGIN_MS = 24 * 60 * 60_000;

/** When the last job of a batch must have ended: the longest of its match timeout plus every attempt's timeout, and a margin. */
export function judgeEndsBy(now: number, specs: readonly Pick<JobSpec, "timeout_s" | "match_timeout_s">[], maxAttempts: number): number {
  const longestS = Math.max(...specs.map((spec) => (spec.match_timeout_s ?? jobLimits.defaultMatchTimeoutS) + maxAttempts * spec.timeout_s));
  return now + longestS * 1000 + LIFE_MARGIN_MS;
}

/** Curves read from the jobs' rooms at once. */
const READS_AT_ONCE = 8;
/** The longest pause between passes, in intervals: while nothing moves, or passes fail, the pause doubles up to it. */
export const MAX_PAUSE_FACTOR = 15;

/** The pause before the next pass: the interval while curves move, else twice the last, up to MAX_PAUSE_FACTOR intervals. */
export function nextPauseMs(lastPauseMs: number, intervalMs: number, moved: boolean): number {
  return moved ? intervalMs : Math.min(Math.max(lastPauseMs, intervalMs) * 2, intervalMs * MAX_PAUSE_FACTOR);
}

export interface JudgedJob {
  id: string;
  status: JobStatus;
  /** The newest step of the rule's metric the job object carries (copied from its room about once a second). */
  newestStep: number | undefined;
}

/** How a pass reaches the jobs: D1, their rooms, their cancel. Stood in for by tests. */
export interface JudgePorts {
  readJobs(account: string, ids: readonly string[], metric: string): Promise<JudgedJob[]>;
  readCurve(jobId: string, metric: string): Promise<Curve>;
  /** False when the job had ended already. */
  cancel(jobId: string, reason: string): Promise<boolean>;
}

export interface PassOutcome {
  /** Jobs of the batch found in D1 (a pass may run before the batch's write has landed). */
  found: number;
  /** Every job found has ended: nothing is left to judge. */
  over: boolean;
  /** A curve was read (some job reported since the last pass). */
  moved: boolean;
  stopped: Array<{ id: string; reason: string }>;
}

/** Kept between passes in the judge's memory: after its object restarts, the curves are read again. */
export class Judgement {
  private readonly curves = new Map<string, Curve>();
  private readonly readAtStep = new Map<string, number>();

  constructor(
    private readonly sweep: SweepCase,
    private readonly ports: JudgePorts,
  ) {}

  async pass(): Promise<PassOutcome> {
    const rule = stopRuleOf(this.sweep.stopEarly);
    const found = await this.ports.readJobs(this.sweep.account, this.sweep.jobIds, rule.metric);
    const moved = found.filter((job) => job.newestStep !== undefined && job.newestStep !== this.readAtStep.get(job.id));
    for (let i = 0; i < moved.length; i += READS_AT_ONCE) {
      await Promise.all(
        moved.slice(i, i + READS_AT_ONCE).map(async (job) => {
          this.curves.set(job.id, await this.ports.readCurve(job.id, rule.metric));
          this.readAtStep.set(job.id, job.newestStep!);
        }),
      );
    }
    const running = new Set(found.filter((job) => job.status === "processing").map((job) => job.id));
    const stopped: PassOutcome["stopped"] = [];
    for (const decision of medianStops(this.curves, running, rule)) {
      if (await this.ports.cancel(decision.id, decision.reason)) stopped.push(decision);
    }
    const open = found.filter((job) => !isTerminal(job.status) && !stopped.some((s) => s.id === job.id));
    return { found: found.length, over: found.length > 0 && open.length === 0, moved: moved.length > 0, stopped };
  }
}

/** The ports as the Worker has them. */
export function workerJudgePorts(ctx: JobContext): JudgePorts {
  return {
    async readJobs(account, ids, metric) {
      const rows = [];
      for (const piece of inPieces(ids)) {
        rows.push(
          ...(await ctx.db
            .select({ id: jobs.id, status: jobs.status, reportedMetrics: jobs.reportedMetrics })
            .from(jobs)
            .where(and(inArray(jobs.id, piece), eq(jobs.account, account)))),
        );
      }
      return rows.map((row) => {
        const latest = LatestReported.safeParse(row.reportedMetrics);
        return { id: row.id, status: row.status as JobStatus, newestStep: latest.success ? latest.data[metric]?.step : undefined };
      });
    },
    async readCurve(jobId, metric) {
      return (await jobRoomOf(ctx.env, jobId).reportedSeries([metric])).series[metric]?.points ?? [];
    },
    async cancel(jobId, reason) {
      try {
        await transitionJob(ctx, jobId, "canceled", { statusDetail: canceledByCreator(reason) }, "judge");
        return true;
      } catch (error) {
        if (error instanceof IllegalTransitionError) return false;
        throw error;
      }
    },
  };
}
