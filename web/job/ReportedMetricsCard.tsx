// The metrics a job reports in its output (POND_METRICS lines), a curve each:
// read again whenever the job says its newest points moved and once when it
// ends, and not at all for a job that reports none.
import { useEffect, useState } from "hono/jsx/dom";
import { isTerminal } from "../../protocol/jobStatus.ts";
import type { Job } from "../../protocol/job.ts";
import { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { requestJson } from "../api/http.ts";
import { MetricChart } from "../charts/MetricChart.tsx";
import { usePoll } from "../live/usePoll.ts";

/** The points are read when the job says they moved, not on a timer. */
const NOT_ON_A_TIMER_MS = 3_600_000;

/** Nothing until the job has reported a metric (the job, read every few seconds, says when). */
export function ReportedMetricsCard(props: { job: Job }) {
  return props.job.reported_metrics ? <Curves job={props.job} /> : null;
}

function Curves(props: { job: Job }) {
  const { job } = props;
  // Read again when the job (itself read every few seconds) says its newest points moved, and once at its end.
  const moved = `${JSON.stringify(job.reported_metrics)} ${isTerminal(job.status)}`;
  const metrics = usePoll(
    (signal) => requestJson(ReportedMetrics, `/v1/jobs/${encodeURIComponent(job.id)}/reported-metrics`, { auth: true, signal }),
    NOT_ON_A_TIMER_MS,
    moved,
  );
  // What was shown stays while the points are read again.
  const [shown, setShown] = useState<ReportedMetrics | undefined>();
  useEffect(() => {
    if (metrics.data) setShown(metrics.data);
  }, [metrics.data]);
  const series = Object.entries(shown?.series ?? {});
  if (series.length === 0) return null;
  const ignored = shown?.ignored;
  return (
    <section class="card" data-testid="reported-metrics">
      <h2>Metrics</h2>
      <div class="metric-charts">
        {series.map(([name, points]) => (
          <MetricChart key={name} name={name} series={points} />
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
