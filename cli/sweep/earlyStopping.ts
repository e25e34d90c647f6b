// Early stopping for a sweep while a `pond` command waits on it: the jobs' reported
// curves (POND_METRICS lines) are read as they move, and the jobs the median
// stopping rule (medianRule.ts) stops are canceled, each with its reason. The API
// knows no sweep, so a sweep nobody waits on runs every job to its end.
import type { Command } from "commander";
import { stoppedEarly, type Job } from "../../protocol/job.ts";
import { isTerminal } from "../../protocol/jobStatus.ts";
import { reportedMetricLimits } from "../../protocol/limits.ts";
import { METRIC_NAME, type ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { forEachInPool } from "../../p2p/core/pool.ts";
import { PondApiError } from "../../sdk/index.ts";
import { integer } from "../context.ts";
import { UsageError } from "../errors.ts";
import { terminalText } from "../terminalText.ts";
import { medianStops, type Curve, type StopRule } from "./medianRule.ts";

export const DEFAULT_MIN_OTHERS = 3;

/** The flags that ask for it, on `pond run` and `pond sweep wait` alike. */
export function withStopEarlyOptions(command: Command): Command {
  return command
    .option("--stop-early <NAME:min|max>", "while the sweep is waited for, cancel a running job whose best NAME so far (a metric the jobs report on POND_METRICS lines) is worse than the median of the other jobs' running averages at the same step")
    .option("--stop-early-after <step>", "with --stop-early: judge no job before it has reached this step", integer);
}

/** `--stop-early NAME:min|max`, with `--stop-early-after STEP` (default 1). */
export function stopRuleOf(text: string, graceSteps = 1): StopRule {
  const match = /^(.+):(min|max)$/.exec(text);
  if (!match || !METRIC_NAME.test(match[1]!) || match[1]!.length > reportedMetricLimits.maxNameLength) {
    throw new UsageError(`--stop-early ${JSON.stringify(text)}: name a metric the jobs report and which way is better, e.g. val_loss:min or val_accuracy:max`);
  }
  if (!Number.isSafeInteger(graceSteps) || graceSteps < 1) throw new UsageError(`--stop-early-after is a step, at least 1; got ${graceSteps}`);
  return { metric: match[1]!, minimize: match[2] === "min", graceSteps, minOthers: DEFAULT_MIN_OTHERS };
}

/** The stopper a sweep's flags ask for, if any. */
export function earlyStopperOf(api: StopperApi, flags: { stopEarly?: string; stopEarlyAfter?: number }, note: (text: string) => void): EarlyStopper | undefined {
  if (flags.stopEarly === undefined) {
    if (flags.stopEarlyAfter !== undefined) throw new UsageError("--stop-early-after goes with --stop-early NAME:min|max");
    return undefined;
  }
  return new EarlyStopper(api, stopRuleOf(flags.stopEarly, flags.stopEarlyAfter), note);
}

export interface StopperApi {
  getJob(id: string): Promise<Job>;
  reportedMetrics(id: string, names?: readonly string[]): Promise<ReportedMetrics>;
  cancelJob(id: string, reason?: string): Promise<Job>;
}

const READS_AT_ONCE = 8;

/**
 * Applies the rule each time the sweep's jobs are read: fetches the curves that moved (a job's
 * newest step of the metric, from the job itself, tells), and cancels the jobs the rule stops,
 * each with its reason. A job that ended meanwhile is left as it ended.
 */
export class EarlyStopper {
  private readonly curves = new Map<string, Curve>();
  private readonly fetchedStep = new Map<string, number>();
  readonly stopped = new Map<string, string>();

  constructor(
    private readonly api: StopperApi,
    readonly rule: StopRule,
    private readonly note: (text: string) => void,
  ) {}

  async look(jobs: readonly Job[]): Promise<void> {
    const moved = jobs.filter((job) => {
      const step = job.reported_metrics?.[this.rule.metric]?.step;
      return step !== undefined && step !== this.fetchedStep.get(job.id);
    });
    await forEachInPool(moved, READS_AT_ONCE, async (job) => {
      const points = (await this.api.reportedMetrics(job.id, [this.rule.metric])).series[this.rule.metric]?.points ?? [];
      this.curves.set(job.id, points);
      this.fetchedStep.set(job.id, job.reported_metrics![this.rule.metric]!.step);
    });
    const running = new Set(jobs.filter((job) => job.status === "processing" && !this.stopped.has(job.id)).map((job) => job.id));
    for (const decision of medianStops(this.curves, running, this.rule)) {
      try {
        await this.api.cancelJob(decision.id, decision.reason);
      } catch (error) {
        if (!(error instanceof PondApiError && error.status === 409)) throw error;
        // It ended on its own between the read and the cancel, or this cancel's answer was lost before.
        if (!stoppedEarly(await this.api.getJob(decision.id))) continue;
      }
      this.stopped.set(decision.id, decision.reason);
      this.note(`[pond: ${decision.id} ${decision.reason}]`);
    }
  }

  /** Said once the sweep has ended: what the rule did, or why it could not. */
  summary(jobs: readonly Job[]): string {
    const name = terminalText(this.rule.metric);
    if (this.curves.size === 0) return `[pond: no job reported ${name} (POND_METRICS lines): none could be stopped early]`;
    const ended = jobs.filter((job) => isTerminal(job.status)).length;
    return `[pond: ${this.stopped.size} of ${ended} jobs stopped early by ${name} (${this.rule.minimize ? "lower" : "higher"} is better)]`;
  }
}
