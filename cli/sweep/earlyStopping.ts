// Early stopping for a sweep, by the median stopping rule (as in Google Vizier and
// Ray Tune): a running job whose best value of the metric so far is worse than the
// median of the other jobs' running averages at the same step is canceled, so the
// providers' time goes to the points still in the race. It reads the metrics the
// jobs report as they run (POND_METRICS lines) and acts only while a `pond`
// command waits on the sweep: the API knows no sweep, so nothing stops a job then.
import type { Job } from "../../protocol/job.ts";
import { canceledByCreator } from "../../protocol/job.ts";
import { isTerminal } from "../../protocol/jobStatus.ts";
import type { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { forEachInPool } from "../../p2p/core/pool.ts";
import { PondApiError } from "../../sdk/index.ts";
import { UsageError } from "../errors.ts";
import { terminalText } from "../terminalText.ts";

export interface StopRule {
  metric: string;
  minimize: boolean;
  /** No job is stopped before it has reported this step. */
  graceSteps: number;
  /** Other jobs that must have reached a step before it is judged there. */
  minOthers: number;
}

/** What every reason starts with: how a stopped job is told from one canceled otherwise. */
export const STOPPED_EARLY = "stopped early";
export const DEFAULT_MIN_OTHERS = 3;

/** `--stop-early NAME:min|max`, with `--stop-early-after STEPS` (default 1). */
export function stopRuleOf(text: string, graceSteps = 1): StopRule {
  const match = /^([A-Za-z_][A-Za-z0-9_.\/-]*):(min|max)$/.exec(text);
  if (!match) throw new UsageError(`--stop-early ${JSON.stringify(text)}: name a metric the jobs report and which way is better, e.g. val_loss:min or val_accuracy:max`);
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

export type Curve = readonly { step: number; value: number | null }[];

export interface StopDecision {
  id: string;
  reason: string;
}

const shown = (value: number) => String(Number(value.toPrecision(4)));

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The mean of a curve's numbers up to `step`; undefined for a run still going that has not reached it (one that ended counts whole). */
function runningAverageAt(curve: Curve, step: number, going: boolean): number | undefined {
  if (going && (curve.at(-1)?.step ?? -1) < step) return undefined;
  const values = curve.filter((point) => point.step <= step && point.value !== null).map((point) => point.value!);
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : undefined;
}

/**
 * Which of the `running` jobs to stop, given every job's curve so far (the running ones' and the
 * others', ended or stopped). A job at step s is judged against the runs still going that have
 * reached s, and every run that has ended, however far it got (a shorter run counts whole). A job
 * whose newest value is not a number (a diverged loss) is stopped once past the grace steps,
 * whatever the others did.
 */
export function medianStops(curves: ReadonlyMap<string, Curve>, running: ReadonlySet<string>, rule: StopRule): StopDecision[] {
  const decisions: StopDecision[] = [];
  const name = terminalText(rule.metric);
  for (const id of running) {
    const curve = curves.get(id);
    const newest = curve?.at(-1);
    if (!curve || !newest || newest.step < rule.graceSteps) continue;
    const step = newest.step;
    if (newest.value === null) {
      decisions.push({ id, reason: `${STOPPED_EARLY} at step ${step}: its ${name} is not a number` });
      continue;
    }
    const own = curve.filter((point) => point.value !== null).map((point) => point.value!);
    const best = rule.minimize ? Math.min(...own) : Math.max(...own);
    const others = [...curves]
      .filter(([other]) => other !== id)
      .map(([other, otherCurve]) => runningAverageAt(otherCurve, step, running.has(other)))
      .filter((value): value is number => value !== undefined);
    if (others.length < rule.minOthers) continue;
    const middle = median(others);
    if (rule.minimize ? best > middle : best < middle) {
      decisions.push({ id, reason: `${STOPPED_EARLY} at step ${step}: its best ${name} ${shown(best)} is ${rule.minimize ? "above" : "below"} the median ${shown(middle)} of ${others.length} other runs' averages there` });
    }
  }
  return decisions;
}

export interface StopperApi {
  reportedMetrics(id: string, names?: readonly string[]): Promise<ReportedMetrics>;
  cancelJob(id: string, reason?: string): Promise<Job>;
}

/** Whether a job was stopped by early stopping (its cancel's reason says so). */
export const stoppedEarly = (job: Pick<Job, "status" | "status_detail">) => job.status === "canceled" && (job.status_detail?.startsWith(canceledByCreator(STOPPED_EARLY)) ?? false);

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
        // It ended on its own between the read and the cancel.
        if (error instanceof PondApiError && error.status === 409) continue;
        throw error;
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
