// `pond jobs metrics --follow`: a job's metrics as they are reported, a row a
// step, until the job ends; then the whole table. The points are read again only
// when the job says its newest ones moved, and a blip in the API is waited out.
import type { Job } from "../protocol/job.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
import { formatMetricValue, type ReportedMetrics } from "../protocol/reportedMetrics.ts";
import { terminalText } from "./terminalText.ts";
import { isTransient } from "./waitJobs.ts";

/** How often the job is read again: its room copies the newest points to it about once a second. */
const POLL_MS = 2_000;
/** Reads in a row the API may fail before following gives up: about half a minute. */
const MAX_FAILED_READS = 15;

export interface MetricsSource {
  getJob(id: string): Promise<Job>;
  reportedMetrics(id: string, names?: readonly string[]): Promise<ReportedMetrics>;
}

/**
 * The rows of steps not printed yet, each name on its own: a value that comes after its step's
 * row was printed gets a row of its own. A name that goes back (a run resumed from a checkpoint)
 * is said so, and its rows go on from its newest step.
 */
export class MetricRows {
  private readonly printed = new Map<string, number>();

  rows(reported: ReportedMetrics): string[] {
    const byStep = new Map<number, [string, number | null][]>();
    const wentBack: number[] = [];
    for (const [name, { points }] of Object.entries(reported.series)) {
      const newest = points.at(-1)?.step;
      if (newest === undefined) continue;
      let last = this.printed.get(name) ?? -1;
      if (newest < last) {
        wentBack.push(newest);
        last = newest - 1;
      }
      for (const point of points.filter((p) => p.step > last)) byStep.set(point.step, [...(byStep.get(point.step) ?? []), [name, point.value]]);
      this.printed.set(name, Math.max(last, newest));
    }
    const lines = wentBack.length ? [`(back to step ${Math.min(...wentBack)}: the run resumed from a checkpoint)`] : [];
    for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
      lines.push(`step ${step}  ${byStep.get(step)!.map(([name, value]) => `${terminalText(name)} ${formatMetricValue(value)}`).join("  ")}`);
    }
    return lines;
  }
}

/** Writes each new step's row as it comes; resolves with the job as it ended and its metrics then. */
export async function followReportedMetrics(
  source: MetricsSource,
  id: string,
  options: { names?: readonly string[]; write(line: string): void; sleep?: (ms: number) => Promise<void> },
): Promise<{ job: Job; reported: ReportedMetrics }> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const rows = new MetricRows();
  let seen: string | undefined;
  let reported: ReportedMetrics | undefined;
  let failed = 0;
  for (;;) {
    try {
      // The job first: metrics read after it has ended are all it will report.
      const job = await source.getJob(id);
      const newest = JSON.stringify(job.reported_metrics);
      const ended = isTerminal(job.status);
      if (newest !== seen || ended || reported === undefined) {
        reported = await source.reportedMetrics(id, options.names);
        seen = newest;
        for (const line of rows.rows(reported)) options.write(line);
      }
      failed = 0;
      if (ended) return { job, reported };
    } catch (error) {
      if (!isTransient(error) || ++failed >= MAX_FAILED_READS) throw error;
    }
    await sleep(POLL_MS);
  }
}
