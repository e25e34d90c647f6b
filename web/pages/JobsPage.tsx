// A creator's jobs, newest first, filtered by status and paged by the API's
// keyset cursors: one page is loaded at a time, however many jobs there are.
import { useEffect, useState } from "hono/jsx/dom";
import { JobPage, type Job } from "../../protocol/job.ts";
import { jobStatuses, type JobStatus } from "../../protocol/jobStatus.ts";
import { requestJson } from "../api/http.ts";
import { EscrowCard } from "../components/EscrowCard.tsx";
import { ProblemView } from "../components/ProblemView.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { formatAgo, formatDuration, shortHex } from "../format/units.ts";
import { cursorOf, listQueryString, PAGE_SIZES, readListQuery, type ListQuery } from "../job/listQuery.ts";
import { markContentRendered } from "../live/markRendered.ts";
import { usePoll } from "../live/usePoll.ts";

export function JobsPage() {
  const [query, setQuery] = useState<ListQuery>(readListQuery(location.search));
  useEffect(() => {
    const onPop = () => setQuery(readListQuery(location.search));
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  const go = (next: ListQuery) => {
    history.pushState(null, "", `/jobs${listQueryString(next)}`);
    setQuery(next);
  };
  const search = listQueryString(query);
  const page = usePoll((signal) => requestJson(JobPage, `/v1/jobs${search}`, { auth: true, signal }), 10_000, search);
  useEffect(() => {
    if (page.data) markContentRendered();
  }, [page.data]);

  const onStatus = (event: Event) => {
    const value = (event.target as HTMLSelectElement).value;
    go({ limit: query.limit, ...(query.labels ? { labels: query.labels } : {}), ...(value ? { status: value as JobStatus } : {}) });
  };
  const onLimit = (event: Event) => go({ ...query, cursor: undefined, limit: Number((event.target as HTMLSelectElement).value) });

  if (page.error && !page.data) return <ProblemView error={page.error} />;
  const older = cursorOf(page.data?.next ?? null);
  const newer = cursorOf(page.data?.previous ?? null);
  return (
    <div class="stack">
      <EscrowCard />
      <section class="card">
        <div class="toolbar">
          <label>
            Status{" "}
            <select data-testid="status-filter" onChange={onStatus}>
              <option value="" selected={!query.status}>any</option>
              {jobStatuses.map((status) => <option value={status} selected={query.status === status}>{status.replace("_", " ")}</option>)}
            </select>
          </label>
          <label>
            Per page{" "}
            <select data-testid="page-size" onChange={onLimit}>
              {PAGE_SIZES.map((size) => <option value={String(size)} selected={query.limit === size}>{size}</option>)}
            </select>
          </label>
          {query.labels ? (
            <span data-testid="label-filter">
              labelled <span class="mono">{query.labels.join(", ")}</span>{" "}
              <a href="/jobs" onClick={(event: Event) => (event.preventDefault(), go({ limit: query.limit, ...(query.status ? { status: query.status } : {}) }))}>all jobs</a>
            </span>
          ) : null}
          <span class="spacer" />
          <button type="button" class="button" data-testid="newer-page" disabled={!newer} onClick={() => go({ ...query, cursor: newer })}>← Newer</button>
          <button type="button" class="button" data-testid="older-page" disabled={!older} onClick={() => go({ ...query, cursor: older })}>Older →</button>
        </div>
        {page.data ? <JobTable jobs={page.data.results} /> : <p class="muted">Loading…</p>}
      </section>
    </div>
  );
}

function JobTable(props: { jobs: Job[] }) {
  if (props.jobs.length === 0) return <p class="muted" data-testid="no-jobs">No jobs here. Create one with <code>npm run pond -- run …</code> or POST /v1/jobs.</p>;
  const now = Date.now();
  return (
    <table data-testid="jobs-table">
      <thead><tr><th>Job</th><th>Status</th><th>Image</th><th>Created</th><th class="num">Ran for</th><th>Provider</th><th>Settlement</th></tr></thead>
      <tbody>
        {props.jobs.map((job) => (
          <tr data-job-id={job.id}>
            <td><a class="mono" href={`/jobs/${encodeURIComponent(job.id)}`}>{job.id}</a></td>
            <td><StatusBadge status={job.status} /></td>
            <td class="mono clip" title={job.spec.image}>{job.spec.image}</td>
            <td title={job.created_at}>{formatAgo(job.created_at, now)}</td>
            <td class="num">{formatDuration(job.metrics.run_ms)}</td>
            <td>{job.provider ? <a class="mono" href={`/providers/${job.provider}`}>{shortHex(job.provider)}</a> : <span class="muted">—</span>}</td>
            <td>{job.settlement === "none" ? <span class="muted">—</span> : job.settlement}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
