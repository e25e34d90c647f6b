// Webhooks leave the Worker through the real queue and arrive at a real HTTP
// receiver (a Node server started by globalSetup) that checks every signature
// with the standardwebhooks library.
import { describe, expect, inject, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import type { ReceivedWebhook } from "../../helpers/webhookReceiver.ts";
import { eventually } from "../../helpers/eventually.ts";
import { call, post, signIn, validJob } from "../client.ts";

const receiver = inject("receiverUrl");
let inboxCounter = 0;

async function newInbox(setup: { secret?: string; statuses?: number[] } = {}) {
  const name = `box${++inboxCounter}-${Math.random().toString(36).slice(2)}`;
  const response = await fetch(`${receiver}/inbox/${name}`, { method: "PUT", body: JSON.stringify(setup) });
  expect(response.status).toBe(204);
  return { name, url: `${receiver}/hooks/${name}` };
}

async function setInbox(name: string, setup: { secret?: string; statuses?: number[] }) {
  await fetch(`${receiver}/inbox/${name}`, { method: "PUT", body: JSON.stringify(setup) });
}

async function received(name: string): Promise<ReceivedWebhook[]> {
  return (await (await fetch(`${receiver}/inbox/${name}`)).json()) as ReceivedWebhook[];
}

interface Delivery {
  id: string;
  state: string;
  event_type: string;
  attempts: Array<{ status_code: number | null; error: string | null; latency_ms: number }>;
}

async function deliveries(key: string, endpoint: string): Promise<Delivery[]> {
  return ((await (await call(`/v1/webhooks/${endpoint}/deliveries`, { key })).json()) as { results: Delivery[] }).results;
}

async function registerEndpoint(key: string, url: string, events?: string[]) {
  const response = await post("/v1/webhooks", { url, ...(events ? { events } : {}) }, { key });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; secret: string };
}

describe("webhook delivery", () => {
  it("delivers signed events that the receiver verifies with standardwebhooks", async () => {
    const { key } = await signIn();
    const box = await newInbox();
    const endpoint = await registerEndpoint(key, box.url, ["job.queued", "job.canceled"]);
    expect(endpoint.secret).toMatch(/^whsec_/);
    await setInbox(box.name, { secret: endpoint.secret });

    const job = (await (await post("/v1/jobs", validJob(), { key })).json()) as Job;
    await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });

    const got = await eventually(async () => {
      const list = await received(box.name);
      return list.length >= 2 && list;
    }, { what: "two webhooks" });
    expect(got.every((w) => w.verified)).toBe(true);
    const types = got.map((w) => (JSON.parse(w.body) as { type: string }).type).sort();
    expect(types).toEqual(["job.canceled", "job.queued"]);
    const canceled = got.map((w) => JSON.parse(w.body) as { type: string; timestamp: string; data: Job }).find((b) => b.type === "job.canceled")!;
    expect(canceled.data.id).toBe(job.id);
    expect(canceled.data.status).toBe("canceled");
    expect(Date.parse(canceled.timestamp)).not.toBeNaN();

    const listed = await eventually(async () => {
      const list = await deliveries(key, endpoint.id);
      return list.length === 2 && list.every((d) => d.state === "delivered") && list;
    }, { what: "deliveries recorded" });
    for (const delivery of listed) {
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]!.status_code).toBe(200);
    }
    // The secret is shown once: listings never carry it.
    expect(await (await call("/v1/webhooks", { key })).text()).not.toContain(endpoint.secret);
  });

  it("signs a job's own webhook with the account's default secret and honours its filter", async () => {
    const { key } = await signIn();
    const { secret } = (await (await call("/v1/webhooks/default/secret", { key })).json()) as { secret: string };
    const box = await newInbox({ secret });
    const job = (await (await post("/v1/jobs", { ...validJob(), webhook: box.url, webhook_events_filter: ["job.canceled"] }, { key })).json()) as Job;
    await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });

    const [only] = await eventually(async () => {
      const list = await received(box.name);
      return list.length > 0 && list;
    });
    expect(only!.verified).toBe(true);
    expect((JSON.parse(only!.body) as { type: string }).type).toBe("job.canceled");
    const defaults = await eventually(async () => {
      const list = await deliveries(key, "default");
      return list.length === 1 && list[0]!.state === "delivered" && list;
    });
    expect(defaults[0]!.event_type).toBe("job.canceled");
    // job.queued was filtered out and never sent.
    expect(await received(box.name)).toHaveLength(1);
  });

  it("retries a 500 and delivers again with the same webhook-id", async () => {
    const { key } = await signIn();
    const box = await newInbox({ statuses: [500] });
    const endpoint = await registerEndpoint(key, box.url, ["job.canceled"]);
    await setInbox(box.name, { secret: endpoint.secret, statuses: [500] });
    const job = (await (await post("/v1/jobs", validJob(), { key })).json()) as Job;
    await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });

    const got = await eventually(async () => {
      const list = await received(box.name);
      return list.length >= 2 && list;
    }, { what: "the retry" });
    expect(got.map((w) => w.answeredWith)).toEqual([500, 200]);
    expect(got[1]!.id).toBe(got[0]!.id);
    expect(got.every((w) => w.verified)).toBe(true);

    const [delivery] = await eventually(async () => {
      const list = await deliveries(key, endpoint.id);
      return list[0]?.state === "delivered" && list;
    });
    expect(delivery!.attempts.map((a) => a.status_code)).toEqual([500, 200]);
    expect(delivery!.attempts[0]!.error).toMatch(/HTTP 500/);
    expect(delivery!.id).toBe(got[0]!.id);
  });

  it("dead-letters a delivery once its retry schedule is spent", async () => {
    const { key } = await signIn();
    const box = await newInbox();
    const endpoint = await registerEndpoint(key, box.url, ["job.canceled"]);
    await setInbox(box.name, { secret: endpoint.secret, statuses: [503, 503, 503, 503, 503] });
    const job = (await (await post("/v1/jobs", validJob(), { key })).json()) as Job;
    await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });

    // Schedule "1,1" in tests: one try and two retries, then the dead-letter queue.
    const [dead] = await eventually(async () => {
      const list = await deliveries(key, endpoint.id);
      return list[0]?.state === "dead" && list;
    }, { what: "the dead letter", timeoutMs: 30_000 });
    expect(dead!.attempts.map((a) => a.status_code)).toEqual([503, 503, 503]);
    expect(await received(box.name)).toHaveLength(3);

    // A replay sends it once more, same id, with a fresh schedule.
    await setInbox(box.name, { secret: endpoint.secret, statuses: [] });
    expect((await call(`/v1/webhooks/${endpoint.id}/deliveries/${dead!.id}/replay`, { method: "POST", key })).status).toBe(202);
    const after = await eventually(async () => {
      const list = await received(box.name);
      return list.length === 4 && list;
    });
    expect(after[3]!.id).toBe(dead!.id);
    expect(after[3]!.verified).toBe(true);
  });

  it("disables an endpoint that answers 410 Gone", async () => {
    const { key } = await signIn();
    const box = await newInbox();
    const endpoint = await registerEndpoint(key, box.url, ["job.canceled"]);
    await setInbox(box.name, { secret: endpoint.secret, statuses: [410] });
    const job = (await (await post("/v1/jobs", validJob(), { key })).json()) as Job;
    await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });

    const listed = await eventually(async () => {
      const list = (await (await call("/v1/webhooks", { key })).json()) as { results: Array<{ id: string; disabled_at: string | null; disabled_reason: string | null }> };
      const mine = list.results.find((e) => e.id === endpoint.id);
      return mine?.disabled_at ? mine : undefined;
    });
    expect(listed.disabled_reason).toMatch(/410/);
    expect(await received(box.name)).toHaveLength(1);
  });
});

describe("webhook endpoints", () => {
  it("keeps accounts apart", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const endpoint = await registerEndpoint(alice.key, "http://127.0.0.1:9/hook");
    expect((await call(`/v1/webhooks/${endpoint.id}/deliveries`, { key: bob.key })).status).toBe(404);
    expect((await call(`/v1/webhooks/${endpoint.id}`, { method: "DELETE", key: bob.key })).status).toBe(404);
    expect((await call(`/v1/webhooks/${endpoint.id}`, { method: "DELETE", key: alice.key })).status).toBe(204);
  });

  it("refuses a URL that is not http(s) with 422", async () => {
    const { key } = await signIn();
    const response = await post("/v1/webhooks", { url: "ftp://example.com/x" }, { key });
    expect(response.status).toBe(422);
  });

  it("sends a signed test event to one endpoint on request, and lists it under its deliveries", async () => {
    const { key } = await signIn();
    const box = await newInbox();
    const endpoint = await registerEndpoint(key, box.url);
    await setInbox(box.name, { secret: endpoint.secret });
    const answer = await post(`/v1/webhooks/${endpoint.id}/test`, {}, { key });
    expect(answer.status).toBe(202);
    const { delivery_id } = (await answer.json()) as { delivery_id: string };
    const got = await eventually(async () => (await received(box.name)).find((w) => w.id === delivery_id), { what: "the test event" });
    expect(got.verified).toBe(true);
    expect(JSON.parse(got.body)).toMatchObject({ type: "webhook.test", data: { endpoint_id: endpoint.id } });
    await eventually(async () => (await deliveries(key, endpoint.id)).find((d) => d.id === delivery_id && d.state === "delivered"), { what: "the delivery marked delivered" });

    const stranger = await signIn();
    expect((await post(`/v1/webhooks/${endpoint.id}/test`, {}, { key: stranger.key })).status).toBe(404);
  });
});
