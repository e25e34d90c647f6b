// One provider, for anyone: its stake and on-chain record, the jobs it ran, what
// it earned, and what it offers while online.
import { useEffect } from "hono/jsx/dom";
import { ProviderProfile } from "../../protocol/network.ts";
import { requestJson } from "../api/http.ts";
import { CapacityMeter } from "../components/CapacityMeter.tsx";
import { Figure } from "../components/Figure.tsx";
import { ProblemView } from "../components/ProblemView.tsx";
import { formatMb } from "../format/units.ts";
import { formatEth, formatWei } from "../format/wei.ts";
import { markContentRendered } from "../live/markRendered.ts";
import { usePoll } from "../live/usePoll.ts";

export function ProviderPage(props: { address: string }) {
  const profile = usePoll((signal) => requestJson(ProviderProfile, `/v1/providers/${props.address}`, { signal }), 5_000);
  const data = profile.data;
  useEffect(() => {
    if (data) markContentRendered();
  }, [data]);
  if (!data) return profile.error ? <ProblemView error={profile.error} /> : <p class="muted">Loading…</p>;

  const standing = !data.registered ? "Not registered" : data.unbonding_at ? `Unbonding (ready ${data.unbonding_at.slice(0, 10)})` : "Staked";
  return (
    <div class="stack">
      <p class="mono break" data-testid="provider-address">{data.address}</p>
      <section class="figures">
        <Figure label="Stake" value={formatEth(data.stake_wei)} hint={standing} testId="stake" />
        <Figure label="Status" value={data.online ? <span class="online">Online</span> : <span class="muted">Offline</span>} testId="online" />
        <Figure label="Earned" value={formatWei(data.earnings_wei)} hint="settled jobs" testId="earnings" />
        <Figure label="Jobs succeeded" value={data.jobs.succeeded} testId="jobs-succeeded" />
        <Figure label="Jobs failed" value={data.jobs.failed} />
        <Figure label="Running now" value={data.jobs.running} />
      </section>
      <section class="card">
        <h2>Reputation on chain</h2>
        <p class="muted small">Counters the market contract keeps for this address.</p>
        <table data-testid="reputation">
          <tbody>
            <tr><th>Jobs settled</th><td class="num">{data.reputation.jobs_settled}</td></tr>
            <tr><th>Jobs challenged</th><td class="num">{data.reputation.jobs_challenged}</td></tr>
            <tr><th>Times slashed</th><td class="num">{data.reputation.jobs_slashed}</td></tr>
          </tbody>
        </table>
      </section>
      {data.online ? (
        <section class="card">
          <h2>Offering now</h2>
          <CapacityMeter label="CPU" total={data.online.cpus.total} free={data.online.cpus.free} format={(n) => `${n} cores`} />
          <CapacityMeter label="Memory" total={data.online.memory_mb.total} free={data.online.memory_mb.free} format={formatMb} />
          {data.online.gpus.length > 0 ? (
            <table>
              <thead><tr><th>GPU</th><th>VRAM</th><th>State</th></tr></thead>
              <tbody>{data.online.gpus.map((gpu) => <tr><td>{gpu.model}</td><td>{formatMb(gpu.vram_mb)}</td><td>{gpu.free ? "free" : "in use"}</td></tr>)}</tbody>
            </table>
          ) : (
            <p class="muted">No GPUs: runs CPU jobs.</p>
          )}
        </section>
      ) : null}
    </div>
  );
}
