// Every status change of a job, with its time and why.
import { JobTransitions } from "../../protocol/job.ts";
import { requestJson } from "../api/http.ts";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { usePoll } from "../live/usePoll.ts";

export function Timeline(props: { jobId: string; status: string }) {
  // Keyed by status: a new status (from the log stream or a refresh) reloads it at once.
  const transitions = usePoll((signal) => requestJson(JobTransitions, `/v1/jobs/${encodeURIComponent(props.jobId)}/transitions`, { auth: true, signal }), 30_000, props.status);
  if (!transitions.data) return <p class="muted">{transitions.error ? transitions.error.message : "Loading…"}</p>;
  const first = Date.parse(transitions.data.results[0]?.at ?? "");
  return (
    <ol class="timeline" data-testid="timeline">
      {transitions.data.results.map((step) => (
        <li>
          <StatusBadge status={step.to} />
          <span class="mono small">{new Date(step.at).toLocaleTimeString()}</span>
          <span class="muted small">{Number.isFinite(first) ? `+${((Date.parse(step.at) - first) / 1_000).toFixed(1)} s` : ""}</span>
          <span class="small muted">{step.detail ?? ""}</span>
        </li>
      ))}
    </ol>
  );
}
