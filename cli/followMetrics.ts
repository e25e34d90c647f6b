// `pond jobs metrics --follow`: a job's metrics as they are reported, a row a
// step, until the job ends; then the whole table.
import type { Job } from "../protocol/job.ts";
import { isTerminal } from "../protocol/jobStatus.ts";
import type { ReportedMetrics } from "../protocol/reportedMetrics.ts";
import { MetricRows } from "./reportedMetricsView.ts";

/** How often the metrics are read again: the room copies them to the job about once a second. */
const POLL_MS = 2_000;

export interface MetricsSource {
  getJob(id: string): Promise<Job>;
  reportedMetrics(id: string, names?: readonly string[]): Promise<ReportedMetrics>;
}

/** Writes each new step's row as it comes; resolves with the job as it ended and its metrics then. */
export async function followReportedMetrics(
  source: MetricsSource,
  id: string,
  options: { names?: readonly string[]; write(line: string): void; sleep?: (ms: number) => Promise<void> },
): Promise<{ job: Job; reported: ReportedMetrics }> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const rows = new MetricRows();
  for (;;) {
    // The job first: metrics read after it has ended are all it will report.
    const job = await source.getJob(id);
    const reported = await source.reportedMetrics(id, options.names);
    for (const line of rows.rows(reported)) options.write(line);
    if (isTerminal(job.status)) return { job, reported };
    await sleep(POLL_MS);
  }
}
