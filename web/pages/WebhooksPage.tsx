// The creator's webhook deliveries, per endpoint (jobs' own URLs under
// "default"), with every attempt and a replay button for those that ended.
import { useEffect, useState } from "hono/jsx/dom";
import { z } from "zod";
import { DEFAULT_ENDPOINT, WebhookDelivery, WebhookEndpoint } from "../../protocol/webhookDeliveries.ts";
import { requestJson } from "../api/http.ts";
import { ProblemView } from "../components/ProblemView.tsx";
import { StatusBadge } from "../components/StatusBadge.tsx";
import { formatAgo } from "../format/units.ts";
import { markContentRendered } from "../live/markRendered.ts";
import { usePoll } from "../live/usePoll.ts";

const Endpoints = z.object({ results: z.array(WebhookEndpoint) });
const Deliveries = z.object({ results: z.array(WebhookDelivery) });
const Replayed = z.object({ id: z.string(), state: z.literal("pending") });

export function WebhooksPage() {
  const endpoints = usePoll((signal) => requestJson(Endpoints, "/v1/webhooks", { auth: true, signal }), 30_000);
  const [selected, setSelected] = useState(DEFAULT_ENDPOINT);
  if (endpoints.error && !endpoints.data) return <ProblemView error={endpoints.error} />;
  const options = [{ id: DEFAULT_ENDPOINT, url: "jobs' own webhook URLs" }, ...(endpoints.data?.results ?? [])];
  return (
    <div class="stack">
      <section class="card">
        <div class="toolbar">
          <label>
            Endpoint{" "}
            <select data-testid="endpoint" onChange={(event: Event) => setSelected((event.target as HTMLSelectElement).value)}>
              {options.map((endpoint) => <option value={endpoint.id} selected={endpoint.id === selected}>{endpoint.id === DEFAULT_ENDPOINT ? endpoint.url : `${endpoint.url} (${endpoint.id})`}</option>)}
            </select>
          </label>
        </div>
        <DeliveryList endpointId={selected} />
      </section>
    </div>
  );
}

function DeliveryList(props: { endpointId: string }) {
  const path = `/v1/webhooks/${encodeURIComponent(props.endpointId)}/deliveries?limit=50`;
  const deliveries = usePoll((signal) => requestJson(Deliveries, path, { auth: true, signal }), 5_000, path);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    if (deliveries.data) markContentRendered();
  }, [deliveries.data]);
  if (!deliveries.data) return deliveries.error ? <ProblemView error={deliveries.error} what="This endpoint" /> : <p class="muted">Loading…</p>;
  if (deliveries.data.results.length === 0) return <p class="muted" data-testid="no-deliveries">No deliveries yet.</p>;

  const replay = async (delivery: WebhookDelivery) => {
    try {
      await requestJson(Replayed, `/v1/webhooks/${encodeURIComponent(delivery.endpoint_id)}/deliveries/${encodeURIComponent(delivery.id)}/replay`, {
        method: "POST",
        auth: true,
        headers: { "idempotency-key": crypto.randomUUID() },
      });
      setNotice(`Delivery ${delivery.id} queued again.`);
    } catch (error) {
      setNotice(error instanceof Error ? error.message : String(error));
    }
    deliveries.reload();
  };
  const now = Date.now();
  return (
    <>
      {notice ? <p class="muted small" data-testid="replay-notice">{notice}</p> : null}
      <table data-testid="deliveries">
        <thead><tr><th>Event</th><th>Job</th><th>State</th><th>Attempts</th><th>Created</th><th /></tr></thead>
        <tbody>
          {deliveries.data.results.map((delivery) => {
            const last = delivery.attempts.at(-1);
            const finished = delivery.state !== "pending" && delivery.state !== "retrying";
            return (
              <tr data-delivery-id={delivery.id}>
                <td class="mono">{delivery.event_type}</td>
                <td>{delivery.job_id ? <a class="mono" href={`/jobs/${encodeURIComponent(delivery.job_id)}`}>{delivery.job_id}</a> : "—"}</td>
                <td><StatusBadge status={delivery.state} /></td>
                <td title={delivery.url} data-testid="attempts">
                  {delivery.attempts.length}
                  {last ? <span class="muted small"> · last {last.status_code ?? last.error ?? "no answer"}, {last.latency_ms} ms</span> : null}
                </td>
                <td title={delivery.created_at}>{formatAgo(delivery.created_at, now)}</td>
                <td>
                  <button type="button" class="button button-small" data-testid="replay" disabled={!finished} onClick={() => void replay(delivery)}>
                    Replay
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
