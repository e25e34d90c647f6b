// The metrics a job reports in its output (POND_METRICS lines), a curve each:
// read again every few seconds while it runs, once more when it ends, and not
// at all for a job that reports none.
import { isTerminal } from "../../protocol/jobStatus.ts";
import type { Job } from "../../protocol/job.ts";
import { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { requestJson } from "../api/http.ts";
import { MetricChart } from "../charts/MetricChart.tsx";
import { usePoll } from "../live/usePoll.ts";

const WHILE_RUNNING_MS = 3_000;
const AFTER_END_MS = 3_600_000;

/** Nothing until the job has reported a metric (the job, read every few seconds, says when). */
export function ReportedMetricsCard(props: { job: Job }) {
  return props.job.reported_metrics ? <Curves job={props.job} /> : null;
}

function Curves(props: { job: Job }) {
  const { job } = props;
  const ended = isTerminal(job.status);
  const metrics = usePoll(
    (signal) => requestJson(ReportedMetrics, `/v1/jobs/${encodeURIComponent(job.id)}/reported-metrics`, { auth: true, signal }),
    // The last read after the end catches the points that came with it.
    ended ? AFTER_END_MS : WHILE_RUNNING_MS,
  );
  const series = Object.entries(metrics.data?.series ?? {});
  if (series.length === 0) return null;
  const ignored = metrics.data?.ignored;
  return (
    <section class="card" data-testid="reported-metrics">
      <h2>Metrics</h2>
      <div class="metric-charts">
        {series.map(([name, points]) => (
          <MetricChart name={name} series={points} />
        ))}
      </div>
      {ignored?.lines ? (
        <p class="muted" data-testid="metrics-ignored">
          {ignored.lines} line{ignored.lines === 1 ? "" : "s"} starting with POND_METRICS not read; the latest because {ignored.last_reason}
        </p>
      ) : null}
    </section>
  );
}
