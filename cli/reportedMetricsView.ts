// A job's reported metrics for a person: each name's curve as a sparkline with
// its newest, lowest and highest values.
import type { Job } from "../protocol/job.ts";
import { formatMetricValue, newestReportedStep, valueRange, type ReportedMetrics } from "../protocol/reportedMetrics.ts";
import { table } from "./output.ts";
import { terminalText } from "./terminalText.ts";

const BARS = "▁▂▃▄▅▆▇█";
/** Characters a curve is drawn in: its points are averaged into this many buckets. */
const CURVE_WIDTH = 32;


/** The points' values as bars, lowest to highest; a point that is not a number is a space. */
export function sparkline(values: readonly (number | null)[], width: number = CURVE_WIDTH): string {
  const buckets: (number | null)[] = [];
  const per = Math.max(1, values.length / width);
  for (let start = 0; start < values.length; start += per) {
    const group = values.slice(Math.floor(start), Math.floor(start + per)).filter((value): value is number => value !== null);
    buckets.push(group.length ? group.reduce((sum, value) => sum + value, 0) / group.length : null);
  }
  const numbers = buckets.filter((value): value is number => value !== null);
  const low = Math.min(...numbers);
  const span = Math.max(...numbers) - low;
  return buckets.map((value) => (value === null ? " " : BARS[span === 0 ? 3 : Math.round(((value - low) / span) * (BARS.length - 1))])).join("");
}

/** A table of each name's newest point, its range and its curve; then what was not read. */
export function describeReportedMetrics(reported: ReportedMetrics): string[] {
  const names = Object.keys(reported.series);
  const lines: string[] = [];
  if (names.length === 0) lines.push(`job ${reported.job_id} has reported no metrics (lines of its output that start with POND_METRICS, e.g. POND_METRICS {"step": 1, "loss": 0.5})`);
  else {
    const rows = names.map((name) => {
      const { points, every } = reported.series[name]!;
      const newest = points.at(-1)!;
      const range = valueRange(points);
      const within = range ? `${formatMetricValue(range.lowest)} … ${formatMetricValue(range.highest)}` : "-";
      return [terminalText(name), String(newest.step), formatMetricValue(newest.value), within, sparkline(points.map((point) => point.value)) + (every > 1 ? ` (1 point of ${every})` : "")];
    });
    lines.push(...table([["metric", "step", "newest", "lowest … highest", "curve"], ...rows]));
  }
  if (reported.ignored.lines > 0) {
    lines.push(`${reported.ignored.lines} line${reported.ignored.lines === 1 ? "" : "s"} starting with POND_METRICS not read; the latest because ${terminalText(reported.ignored.last_reason ?? "")}`);
  }
  return lines;
}

/** The newest point of each name on one line, for `pond jobs get`. */
export function describeLatestReported(job: Pick<Job, "reported_metrics">): string[] {
  const step = newestReportedStep(job.reported_metrics);
  if (step === null) return [];
  const latest = Object.entries(job.reported_metrics ?? {});
  return [`  reported at step ${step}: ${latest.map(([name, point]) => `${terminalText(name)} ${formatMetricValue(point.value)}${point.step === step ? "" : ` (step ${point.step})`}`).join(", ")}`];
}
