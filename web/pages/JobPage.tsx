// One of the creator's jobs: status, state timeline, live log, outputs, price.
// Another creator's job is not found, here as in the API.
import { useEffect, useState } from "hono/jsx/dom";
import { Job } from "../../protocol/job.ts";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { requestJson } from "../api/http.ts";
import { ProblemView } from "../components/ProblemView.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { formatCheckpoint, formatDuration, formatGpuUsage, formatMb, formatTransfer, shortHex } from "../format/units.ts";
import { formatWei } from "../format/wei.ts";
import { LiveLog } from "../job/LiveLog.tsx";
import { Outputs } from "../job/Outputs.tsx";
import { ReportedMetricsCard } from "../job/ReportedMetricsCard.tsx";
import { Timeline } from "../job/Timeline.tsx";
import { useLiveLog } from "../job/useLiveLog.ts";
import { markContentRendered } from "../live/markRendered.ts";
import { usePoll } from "../live/usePoll.ts";

export function JobPage(props: { jobId: string }) {
  // The stream's status events reload the job at once; the poll is the backstop.
  const [seenStatus, setSeenStatus] = useState<JobStatus | "">("");
  const job = usePoll((signal) => requestJson(Job, `/v1/jobs/${encodeURIComponent(props.jobId)}`, { auth: true, signal }), 5_000, seenStatus);
  const [lastJob, setLastJob] = useState<Job | undefined>();
  useEffect(() => {
    if (job.data) {
      setLastJob(job.data);
      markContentRendered();
    }
  }, [job.data]);
  const shown = job.data ?? lastJob;
  if (!shown) return job.error ? <ProblemView error={job.error} what={`Job ${props.jobId}`} /> : <p class="muted">Loading…</p>;
  return <JobView job={shown} onStatus={setSeenStatus} />;
}

function JobView(props: { job: Job; onStatus: (status: JobStatus) => void }) {
  const { job } = props;
  const log = useLiveLog(job.id, props.onStatus);
  const price = job.price;
  return (
    <div class="stack">
      <section class="card">
        <div class="job-head">
          <h2 class="mono">{job.id}</h2>
          <span data-testid="job-status"><StatusBadge status={job.status} /></span>
        </div>
        {job.status_detail ? <p data-testid="status-detail">{job.status_detail}</p> : null}
        {job.error ? <p class="error">{job.error}</p> : null}
        <dl class="facts">
          <dt>Image</dt><dd class="mono">{job.spec.image}</dd>
          {Object.keys(job.labels).length ? <><dt>Labels</dt><dd data-testid="job-labels">{Object.entries(job.labels).map(([key, value]) => <a class="mono label" href={`/jobs?label=${encodeURIComponent(`${key}=${value}`)}`}>{key}={value}</a>)}</dd></> : null}
          <dt>Command</dt><dd class="mono">{job.spec.cmd?.join(" ") ?? "(the image's own)"}</dd>
          <dt>Resources</dt><dd>{job.spec.resources.gpus} GPU · {job.spec.resources.cpus} CPU · {formatMb(job.spec.resources.memory_mb)}</dd>
          <dt>Provider</dt><dd>{job.provider ? <a class="mono" href={`/providers/${job.provider}`}>{shortHex(job.provider, 6)}</a> : "not assigned yet"}</dd>
          <dt>Times</dt><dd>queued {formatDuration(job.metrics.queue_ms)} · pull {formatDuration(job.metrics.pull_ms)} · ran {formatDuration(job.metrics.run_ms)}</dd>
          <dt>Data</dt><dd data-testid="job-transfer">inputs {formatTransfer(job.metrics.transfer.inputs)} · outputs {formatTransfer(job.metrics.transfer.outputs)}</dd>
          {job.metrics.gpu ? <><dt>GPUs</dt><dd data-testid="job-gpus">{job.metrics.gpu.gpus.map((gpu) => <div>{formatGpuUsage(gpu)}</div>)}</dd></> : null}
          {job.spec.checkpoint ? <><dt>Checkpoint</dt><dd data-testid="job-checkpoint">{formatCheckpoint(job.checkpoint, Date.now())}</dd></> : null}
          <dt>Exit code</dt><dd>{job.exit_code ?? "—"}</dd>
        </dl>
      </section>
      <div class="columns">
        <section class="card">
          <h2>Timeline</h2>
          <Timeline jobId={job.id} status={job.status} />
        </section>
        <section class="card">
          <h2>Payment</h2>
          <dl class="facts">
            <dt>Most you pay</dt><dd>{formatWei(job.spec.max_price_wei)}</dd>
            <dt>Provider's rate</dt><dd>{price.rate_wei_per_second ? `${formatWei(price.rate_wei_per_second)} / s` : "—"}</dd>
            <dt>Claimed</dt><dd>{price.claimed_wei ? formatWei(price.claimed_wei) : "—"}</dd>
            <dt>Settlement</dt><dd data-testid="settlement">{job.settlement}</dd>
          </dl>
        </section>
      </div>
      <ReportedMetricsCard job={job} />
      <section class="card">
        <h2>Log</h2>
        <LiveLog text={log.text || (isTerminal(job.status) ? job.logs : "")} state={log.state} {...(log.error ? { error: log.error } : {})} />
      </section>
      <section class="card">
        <h2>Outputs</h2>
        <Outputs job={job} />
      </section>
    </div>
  );
}
