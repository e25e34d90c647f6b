// A reported metric's points as uPlot's aligned columns (x the step, y the value, a
// gap where the job reported NaN), and the line that says where it stands. Pure.
import { formatMetricValue, valueRange, type ReportedSeries } from "../../protocol/reportedMetrics.ts";
import type { z } from "zod";

type Series = z.infer<typeof ReportedSeries>;

export function metricColumns(series: Series): [number[], (number | null)[]] {
  return [series.points.map((point) => point.step), series.points.map((point) => point.value)];
}

/** "step 30: 0.0128 (lowest 0.0128, highest 1.928)", and how thinned a long curve is. */
export function metricCaption(series: Series): string {
  const newest = series.points.at(-1);
  if (!newest) return "no points yet";
  const range = valueRange(series.points);
  const within = range ? ` (lowest ${formatMetricValue(range.lowest)}, highest ${formatMetricValue(range.highest)})` : "";
  const thinned = series.every > 1 ? `; one point of every ${series.every} of ${series.reported} shown` : "";
  return `step ${newest.step}: ${formatMetricValue(newest.value)}${within}${thinned}`;
}
