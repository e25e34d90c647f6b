import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { call, post, signIn, validJob } from "../client.ts";

describe("Idempotency-Key", () => {
  it("answers the same key and body with the first response again", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": "create-once-1" };
    const first = await post("/v1/jobs", validJob(), { key, headers });
    const second = await post("/v1/jobs", validJob(), { key, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [(await first.json()) as Job, (await second.json()) as Job];
    expect(b.id).toBe(a.id);
    const list = (await (await call("/v1/jobs", { key })).json()) as { results: Job[] };
    expect(list.results).toHaveLength(1);
  });

  it("replays the Location of what the first request created", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": `located-${crypto.randomUUID()}` };
    const first = await post("/v1/jobs", validJob(), { key, headers });
    expect(first.status).toBe(201);
    const location = first.headers.get("location");
    expect(location).toBe(`https://pond.test/v1/jobs/${((await first.json()) as Job).id}`);
    const replay = await post("/v1/jobs", validJob(), { key, headers });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get("location")).toBe(location);
  });

  it("refuses the same key with another body (422)", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": "create-once-2" };
    expect((await post("/v1/jobs", validJob(), { key, headers })).status).toBe(201);
    const other = await post("/v1/jobs", { ...validJob(), timeout_s: 30 }, { key, headers });
    expect(other.status).toBe(422);
  });

  it("keeps no result for a body refused before the request ran: a corrected retry with the same key goes through", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": `corrected-${crypto.randomUUID()}` };
    const invalid = await post("/v1/jobs", { ...validJob(), timeout_s: -1 }, { key, headers });
    expect(invalid.status).toBe(422);
    const malformed = await post("/v1/jobs", "{not json", { key, headers });
    expect(malformed.status).toBe(400);
    const corrected = await post("/v1/jobs", validJob(), { key, headers });
    expect(corrected.status).toBe(201);
    expect(corrected.headers.get("idempotent-replayed")).toBeNull();
    // From then on the key is used up by what ran.
    const replay = await post("/v1/jobs", validJob(), { key, headers });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replay.json()) as Job).id).toBe(((await corrected.json()) as Job).id);
  });

  it("keeps no result for a refused webhook registration either", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": `webhook-${crypto.randomUUID()}` };
    expect((await post("/v1/webhooks", { url: "not a url" }, { key, headers })).status).toBe(422);
    expect((await post("/v1/webhooks", { url: "https://hooks.example.com/pond" }, { key, headers })).status).toBe(201);
  });

  it("answers 409 while the first request is still in flight", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": "slow-one" };
    // Prefer: wait keeps the first request running for a second.
    const slow = post("/v1/jobs", validJob(), { key, headers: { ...headers, prefer: "wait=2" } });
    await new Promise((r) => setTimeout(r, 300));
    const concurrent = await post("/v1/jobs", validJob(), { key, headers: { ...headers, prefer: "wait=2" } });
    expect(concurrent.status).toBe(409);
    expect((await slow).status).toBe(201);
    // Once done, the same request replays.
    const replay = await post("/v1/jobs", validJob(), { key, headers: { ...headers, prefer: "wait=2" } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });

  it("keeps keys apart between accounts", async () => {
    const alice = await signIn();
    const bob = await signIn();
    const headers = { "idempotency-key": "shared-name" };
    const a = (await (await post("/v1/jobs", validJob(), { key: alice.key, headers })).json()) as Job;
    const b = (await (await post("/v1/jobs", validJob(), { key: bob.key, headers })).json()) as Job;
    expect(a.id).not.toBe(b.id);
  });

  it("expires keys after 24 hours", async () => {
    const { env } = await import("cloudflare:test");
    const { key } = await signIn();
    const headers = { "idempotency-key": "old-key" };
    const first = (await (await post("/v1/jobs", validJob(), { key, headers })).json()) as Job;
    await env.DB.prepare("UPDATE idempotency_keys SET expires_at = ? WHERE key = ?").bind(Date.now() - 1, "old-key").run();
    const second = await post("/v1/jobs", { ...validJob(), timeout_s: 30 }, { key, headers });
    expect(second.status).toBe(201);
    expect(((await second.json()) as Job).id).not.toBe(first.id);
  });

  it("refuses a malformed key", async () => {
    const { key } = await signIn();
    expect((await post("/v1/jobs", validJob(), { key, headers: { "idempotency-key": "x".repeat(300) } })).status).toBe(400);
  });
});
