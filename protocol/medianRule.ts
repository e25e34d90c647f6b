// The median stopping rule (as in Google Vizier and Ray Tune), pure: a running job
// whose best value of the metric so far is worse than the median of the other jobs'
// running averages at the same step is stopped, so the providers' time goes to the
// points still in the race. A sweep's judge applies it (worker/sweeps/).
import { STOPPED_EARLY } from "./job.ts";
import { formatMetricValue } from "./reportedMetrics.ts";

export interface StopRule {
  metric: string;
  minimize: boolean;
  /** No job is stopped before it has reported this step. */
  graceSteps: number;
  /** Other jobs that must have reached a step before it is judged there. */
  minOthers: number;
}

export type Curve = readonly { step: number; value: number | null }[];

export interface StopDecision {
  id: string;
  reason: string;
}

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
  // A metric's name is METRIC_NAME's characters only (stopEarly.ts): safe to say as it is.
  const name = rule.metric;
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
      decisions.push({ id, reason: `${STOPPED_EARLY} at step ${step}: its best ${name} ${formatMetricValue(best)} is ${rule.minimize ? "above" : "below"} the median ${formatMetricValue(middle)} of ${others.length} other runs' averages there` });
    }
  }
  return decisions;
}

