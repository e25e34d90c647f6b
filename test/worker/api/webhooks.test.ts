// Webhook endpoints: the per-account cap holds under concurrent creates, and an
// endpoint's secret is shown once, never stored outside the sealed column,
// never shown again by an idempotent replay.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, post, signIn } from "../client.ts";

interface CreatedEndpoint {
  id: string;
  url: string;
  secret: string | null;
  secret_note?: string;
}

const hookUrl = (n: number) => `http://127.0.0.1:9/hooks/${n}`;

describe("POST /v1/webhooks", () => {
  it("creates at most 10 endpoints per account, however many creates race", async () => {
    const { key } = await signIn();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, n) => post("/v1/webhooks", { url: hookUrl(n) }, { key })));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(10);
    expect(statuses.filter((s) => s === 409)).toHaveLength(10);
    const refused = answers.find((r) => r.status === 409)!;
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/at most 10 webhook endpoints; delete one first/);

    const listed = (await (await call("/v1/webhooks", { key })).json()) as { results: unknown[] };
    expect(listed.results).toHaveLength(10);
  });

  it("lets a deleted endpoint's place be taken again", async () => {
    const { key } = await signIn();
    const created = await Promise.all(Array.from({ length: 10 }, (_, n) => post("/v1/webhooks", { url: hookUrl(n) }, { key })));
    expect(created.every((r) => r.status === 201)).toBe(true);
    expect((await post("/v1/webhooks", { url: hookUrl(10) }, { key })).status).toBe(409);
    const first = (await created[0]!.json()) as CreatedEndpoint;
    expect((await call(`/v1/webhooks/${first.id}`, { method: "DELETE", key })).status).toBe(204);
    expect((await post("/v1/webhooks", { url: hookUrl(10) }, { key })).status).toBe(201);
  });

  it("shows the secret once: an idempotent replay answers the endpoint without it, and the secret is stored nowhere in plaintext", async () => {
    const { key } = await signIn();
    const headers = { "idempotency-key": `endpoint-${crypto.randomUUID()}` };
    const first = await post("/v1/webhooks", { url: hookUrl(1) }, { key, headers });
    expect(first.status).toBe(201);
    const created = (await first.json()) as CreatedEndpoint;
    expect(created.secret).toMatch(/^whsec_/);

    const replay = await post("/v1/webhooks", { url: hookUrl(1) }, { key, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const text = await replay.text();
    expect(text).not.toContain(created.secret!);
    const replayed = JSON.parse(text) as CreatedEndpoint;
    expect(replayed).toMatchObject({ id: created.id, url: created.url, secret: null });
    expect(replayed.secret_note).toMatch(/shown only once/);

    // Nothing in D1 holds it in the clear: not the idempotency record, not the endpoint row.
    const secretBody = created.secret!.slice("whsec_".length);
    const stored = await env.DB.prepare("SELECT response_body FROM idempotency_keys WHERE key = ?").bind(headers["idempotency-key"]).all<{ response_body: string }>();
    expect(stored.results).toHaveLength(1);
    expect(stored.results[0]!.response_body).not.toContain(secretBody);
    const endpoint = await env.DB.prepare("SELECT secret_enc FROM webhook_endpoints WHERE id = ?").bind(created.id).first<{ secret_enc: string }>();
    expect(endpoint!.secret_enc).not.toContain(secretBody);
  });
});
