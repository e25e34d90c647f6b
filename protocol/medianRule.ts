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

/** A curve (its steps ascending, as a job room keeps them) read once: its running sums, so an average up to any step is a search. */
interface Summary {
  steps: number[];
  /** The sum and count of the numbers among the first i + 1 points. */
  sums: number[];
  counts: number[];
}

function summarize(curve: Curve): Summary {
  const summary: Summary = { steps: [], sums: [], counts: [] };
  let sum = 0;
  let count = 0;
  for (const point of curve) {
    if (point.value !== null) {
      sum += point.value;
      count++;
    }
    summary.steps.push(point.step);
    summary.sums.push(sum);
    summary.counts.push(count);
  }
  return summary;
}

/** The mean of a curve's numbers up to `step`; undefined for a run still going that has not reached it (one that ended counts whole). */
function runningAverageAt(summary: Summary, step: number, going: boolean): number | undefined {
  const { steps } = summary;
  if (going && (steps.at(-1) ?? -1) < step) return undefined;
  // The last point at or before `step`.
  let low = 0;
  let high = steps.length - 1;
  let at = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (steps[middle]! <= step) {
      at = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  const count = at < 0 ? 0 : summary.counts[at]!;
  return count > 0 ? summary.sums[at]! / count : undefined;
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
  // Each curve summed once, not once for every running job it is compared with.
  const summaries = new Map([...curves].map(([id, curve]) => [id, summarize(curve)]));
  for (const id of running) {
    const curve = curves.get(id);
    const newest = curve?.at(-1);
    if (!curve || !newest || newest.step < rule.graceSteps) continue;
    const step = newest.step;
    if (newest.value === null) {
      decisions.push({ id, reason: `${STOPPED_EARLY} at step ${step}: its ${name} is not a number` });
      continue;
    }
    let best = rule.minimize ? Infinity : -Infinity;
    for (const point of curve) if (point.value !== null) best = rule.minimize ? Math.min(best, point.value) : Math.max(best, point.value);
    const others = [...summaries]
      .filter(([other]) => other !== id)
      .map(([other, summary]) => runningAverageAt(summary, step, running.has(other)))
      .filter((value): value is number => value !== undefined);
    if (others.length < rule.minOthers) continue;
    const middle = median(others);
    if (rule.minimize ? best > middle : best < middle) {
      decisions.push({ id, reason: `${STOPPED_EARLY} at step ${step}: its best ${name} ${formatMetricValue(best)} is ${rule.minimize ? "above" : "below"} the median ${formatMetricValue(middle)} of ${others.length} other runs' averages there` });
    }
  }
  return decisions;
}

