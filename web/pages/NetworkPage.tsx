// The network at a glance, for anyone: refreshed live by polling the public API.
import { useEffect } from "hono/jsx/dom";
import { JobActivity, NetworkSummary, type OnlineProvider, type Settlement } from "../../protocol/network.ts";
import { requestJson } from "../api/http.ts";
import { ActivityChart } from "../charts/ActivityChart.tsx";
import { CapacityMeter } from "../components/CapacityMeter.tsx";
import { Figure } from "../components/Figure.tsx";
import { ProblemView } from "../components/ProblemView.tsx";
import { formatDuration, formatMb, plural, shortHex } from "../format/units.ts";
import { formatWei } from "../format/wei.ts";
import { markContentRendered } from "../live/markRendered.ts";
import { usePoll } from "../live/usePoll.ts";

const REFRESH_MS = 5_000;
const cores = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(1)} cores`;

export function NetworkPage() {
  const summary = usePoll((signal) => requestJson(NetworkSummary, "/v1/network", { signal }), REFRESH_MS);
  const activity = usePoll((signal) => requestJson(JobActivity, "/v1/network/activity?hours=24", { signal }), REFRESH_MS);
  const data = summary.data;
  useEffect(() => {
    if (data) markContentRendered();
  }, [data]);

  if (!data) return summary.error ? <ProblemView error={summary.error} /> : <p class="muted">Loading the network…</p>;
  return (
    <div class="stack">
      <section class="figures" aria-label="The network now">
        <Figure label="Providers online" value={data.providers_online} testId="providers-online" />
        <Figure label="GPUs free" value={`${data.capacity.gpus.free} / ${data.capacity.gpus.total}`} />
        <Figure label="Jobs queued" value={data.jobs.queued} testId="jobs-queued" />
        <Figure label="Jobs running" value={data.jobs.running} testId="jobs-running" />
        <Figure label="Median time to match" value={formatDuration(data.timings.median_match_ms)} hint={`last ${plural(data.timings.sample, "job")}, ${data.timings.window_hours} h`} />
        <Figure label="Median time to finish" value={formatDuration(data.timings.median_finish_ms)} hint="created → final status" />
        <Figure label="Paid to providers" value={formatWei(data.paid_out_wei)} hint={data.chain.settles_on_chain ? `on ${data.chain.name}` : "no chain configured"} testId="paid-out" />
      </section>

      <section class="card">
        <h2>Jobs per hour</h2>
        {activity.data ? <ActivityChart buckets={activity.data.buckets} /> : <p class="muted">Loading…</p>}
      </section>

      <div class="columns">
        <section class="card">
          <h2>Capacity</h2>
          <CapacityMeter label="GPUs" total={data.capacity.gpus.total} free={data.capacity.gpus.free} format={String} />
          <CapacityMeter label="CPU" total={data.capacity.cpus.total} free={data.capacity.cpus.free} format={cores} />
          <CapacityMeter label="Memory" total={data.capacity.memory_mb.total} free={data.capacity.memory_mb.free} format={formatMb} />
        </section>
        <section class="card">
          <h2>GPU models</h2>
          {data.gpu_models.length === 0 ? (
            <p class="muted">No GPUs online right now; CPU jobs still run.</p>
          ) : (
            <table>
              <thead><tr><th>Model</th><th>VRAM</th><th class="num">Free / total</th></tr></thead>
              <tbody>
                {data.gpu_models.map((gpu) => (
                  <tr><td>{gpu.model}</td><td>{formatMb(gpu.vram_mb)}</td><td class="num">{gpu.free} / {gpu.total}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>

      <section class="card">
        <h2>Providers online</h2>
        <ProvidersTable providers={data.providers} online={data.providers_online} />
      </section>

      <section class="card">
        <h2>Recent settlements</h2>
        <SettlementsTable settlements={data.recent_settlements} settles={data.chain.settles_on_chain} />
      </section>
      <p class="muted small" data-testid="updated">
        Updated {new Date(summary.loadedAt ?? Date.now()).toLocaleTimeString()} · refreshes every {REFRESH_MS / 1_000} s
        {summary.error ? ` · last refresh failed: ${summary.error.message}` : ""}
      </p>
    </div>
  );
}

function ProvidersTable(props: { providers: OnlineProvider[]; online: number }) {
  if (props.providers.length === 0) return <p class="muted">No provider is connected.</p>;
  return (
    <>
      <table data-testid="providers">
        <thead><tr><th>Provider</th><th>GPUs</th><th class="num">CPU free</th><th class="num">Memory free</th></tr></thead>
        <tbody>
          {props.providers.map((provider) => (
            <tr>
              <td><a class="mono" href={`/providers/${provider.address}`} title={provider.address}>{shortHex(provider.address, 6)}</a></td>
              <td>{provider.gpus.length === 0 ? <span class="muted">CPU only</span> : gpuList(provider.gpus)}</td>
              <td class="num">{cores(provider.cpus.free)} of {provider.cpus.total}</td>
              <td class="num">{formatMb(provider.memory_mb.free)} of {formatMb(provider.memory_mb.total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.online > props.providers.length ? <p class="muted small">The {props.providers.length} largest of {props.online} are listed.</p> : null}
    </>
  );
}

/** "2 × H100 (80 GiB) · 1 free". */
function gpuList(gpus: OnlineProvider["gpus"]): string {
  const groups = new Map<string, { count: number; free: number }>();
  for (const gpu of gpus) {
    const key = `${gpu.model} (${formatMb(gpu.vram_mb)})`;
    const group = groups.get(key) ?? { count: 0, free: 0 };
    group.count += 1;
    if (gpu.free) group.free += 1;
    groups.set(key, group);
  }
  return [...groups].map(([name, group]) => `${group.count} × ${name} · ${group.free} free`).join("; ");
}

export function SettlementsTable(props: { settlements: Settlement[]; settles: boolean }) {
  if (props.settlements.length === 0) return <p class="muted">{props.settles ? "No job has settled yet." : "This network does not settle on a chain."}</p>;
  return (
    <table data-testid="settlements">
      <thead><tr><th>Transaction</th><th class="num">Block</th><th>Provider</th><th class="num">Paid</th></tr></thead>
      <tbody>
        {props.settlements.map((s) => (
          <tr>
            <td class="mono">{s.tx_url ? <a href={s.tx_url} rel="noopener noreferrer" target="_blank" title={s.tx_hash}>{shortHex(s.tx_hash, 6)}</a> : <span title={s.tx_hash}>{shortHex(s.tx_hash, 6)}</span>}</td>
            <td class="num">{s.block_number.toLocaleString("en-US")}</td>
            <td><a class="mono" href={`/providers/${s.provider}`}>{shortHex(s.provider)}</a></td>
            <td class="num">{formatWei(s.amount_wei)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
