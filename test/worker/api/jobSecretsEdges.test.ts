// A job's secrets at the edges, through the real Worker, D1 and hub: where a value
// might show up (replays, the idempotency record, deliveries, other providers, a
// requeue) and what odd input is refused how (NUL, prototype names, template runs).
import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { createDb } from "../../../worker/db/client.ts";
import { idempotencyKeys, jobs, webhookDeliveries } from "../../../worker/db/schema.ts";
import { EXPENSIVE, ownProvider, specFor } from "../assignedJob.ts";
import { call, post, signIn, validJob } from "../client.ts";
import { connectProvider } from "../providerSocket.ts";

const db = createDb(env.DB);
const token = () => `hf_${crypto.randomUUID().replaceAll("-", "")}`;

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const DIGEST = `sha256:${"ab".repeat(32)}`;
const freshNamespace = () => `t${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
const template = (name: string, overrides: Record<string, unknown> = {}) => ({
  name,
  version: "1.0.0",
  description: "Fetches a gated model",
  image: `registry.example/pond/fetch@${DIGEST}`,
  cmd: ["sh", "-c", "echo hi"],
  resources: { gpus: 0, cpus: 0.5, memory_mb: 128 },
  timeout_s: 60,
  default_max_price_wei: "1000000000000000",
  deterministic: true,
  ...overrides,
});

describe("job secrets at the edges", () => {
  it("refuses a secret value holding a NUL byte with a 422 (runc refuses it and quotes NAME=VALUE whole in its error, which becomes the job's error)", async () => {
    const { key } = await signIn();
    const secret = `${token()}\u0000tail`;
    const response = await post("/v1/jobs", { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret } }, { key });
    const text = await response.text();
    expect(text).not.toContain(secret.slice(0, 20));
    expect(response.status, text.slice(0, 300)).toBe(422);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect((JSON.parse(text) as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain("secret_values.HF_TOKEN");
  });

  it("leaves no offline guessing oracle for a low-entropy value: idempotency_keys.request_hash is not sha256 of the body holding it", async () => {
    const { key } = await signIn();
    const pin = String(1000 + Math.floor(Math.random() * 9000));
    const bodyWith = (value: string) => JSON.stringify({ ...validJob(), secrets: ["DB_PIN"], secret_values: { DB_PIN: value } });
    const idempotencyKey = crypto.randomUUID();
    const created = await post("/v1/jobs", bodyWith(pin), { key, headers: { "idempotency-key": idempotencyKey } });
    expect(created.status).toBe(201);
    const [row] = await db.select({ hash: idempotencyKeys.requestHash }).from(idempotencyKeys).where(eq(idempotencyKeys.key, idempotencyKey));
    expect(row).toBeDefined();
    // Someone with a copy of D1 (not SECRETS_KEY) knows the spec (jobs.spec) and tries every 4-digit value.
    let recovered: string | undefined;
    for (let n = 0; n <= 9999 && recovered === undefined; n++) {
      const candidate = String(n).padStart(4, "0");
      if ((await sha256Hex(`POST /v1/jobs\n${bodyWith(candidate)}`)) === row!.hash) recovered = candidate;
    }
    expect(recovered, "the sealed value was recovered from the idempotency hash").toBeUndefined();
  });

  it("takes a secret named like an Object.prototype member (toString, constructor) beside an env that does not name it", async () => {
    const { key } = await signIn();
    for (const name of ["toString", "constructor"]) {
      const response = await post("/v1/jobs", { ...validJob(), env: { OTHER: "1" }, secrets: [name], secret_values: { [name]: token() } }, { key });
      const text = await response.text();
      expect(response.status, `${name}: ${text.slice(0, 400)}`).toBe(201);
    }
  });

  it("answers a secret named __proto__ with a 422 that does not say its value is missing when it was sent", async () => {
    const { key } = await signIn();
    const secret = token();
    const body = `{"image":"ghcr.io/pond/example:1.0","resources":{"gpus":0,"cpus":1,"memory_mb":128},"timeout_s":60,"max_price_wei":"1000","secrets":["__proto__"],"secret_values":{"__proto__":"${secret}"}}`;
    const response = await post("/v1/jobs", body, { key });
    const text = await response.text();
    expect(text).not.toContain(secret);
    expect(response.status, text).not.toBe(500);
    // Whatever it answers, it should not claim a value that was sent is missing.
    if (response.status === 422) expect(text, text).not.toContain("is missing");
  });

  it("refuses secret_values for a secret the template does not name with a 422 naming the field and not echoing the value", async () => {
    const { key } = await signIn();
    const name = `${freshNamespace()}/plain`;
    expect((await post("/v1/templates", template(name), { key })).status).toBe(201);
    const secret = token();
    const response = await post("/v1/jobs", { template: `${name}@1.0.0`, secret_values: { HF_TOKEN: secret } }, { key });
    const text = await response.text();
    expect(response.status).toBe(422);
    expect(text).not.toContain(secret);
    expect(text).toContain("secret_values");
  });

  it("never echoes a value in any refusal of a malformed request (problem+json, 422, no 500)", async () => {
    const { key } = await signIn();
    const secret = token();
    const bodies: Array<Record<string, unknown>> = [
      { ...validJob(), secrets: ["HF_TOKEN"], secret_value: { HF_TOKEN: secret } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: secret },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: [secret] },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: { value: secret } } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: [secret] } },
      { ...validJob(), secrets: "HF_TOKEN", secret_values: { HF_TOKEN: secret } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret, "bad-name": secret } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: `${secret}${"x".repeat(5000)}` } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: "" } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret }, env: { HF_TOKEN: "x" } },
      { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret }, timeout_s: "nope" },
      { template: "x/y@1.0.0", params: { a: secret }, secret_values: { HF_TOKEN: secret }, image: "busybox" },
      { template: "nobody/nothing@9.9.9", secret_values: { HF_TOKEN: secret } },
    ];
    for (const body of bodies) {
      const response = await post("/v1/jobs", body, { key });
      const text = await response.text();
      const label = JSON.stringify(body).slice(0, 160);
      expect([404, 422], `${label}: ${response.status} ${text.slice(0, 300)}`).toContain(response.status);
      expect(response.headers.get("content-type"), label).toContain("application/problem+json");
      expect(text, label).not.toContain(secret);
    }
  });

  it("keeps the value out of an idempotent replay, a conflicting replay, webhook deliveries and other D1 columns", async () => {
    const { key } = await signIn();
    const secret = token();
    const idempotencyKey = crypto.randomUUID();
    const body = { ...validJob(), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret }, webhook: "https://hooks.example/pond" };
    const first = await post("/v1/jobs", body, { key, headers: { "idempotency-key": idempotencyKey } });
    expect(first.status).toBe(201);
    expect(await first.text()).not.toContain(secret);
    const replay = await post("/v1/jobs", body, { key, headers: { "idempotency-key": idempotencyKey } });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).not.toContain(secret);
    const other = await post("/v1/jobs", { ...body, secret_values: { HF_TOKEN: token() } }, { key, headers: { "idempotency-key": idempotencyKey } });
    expect(other.status).toBe(422);
    expect(await other.text()).not.toContain(secret);
    const job = (await (await call(`/v1/jobs?limit=1`, { key })).json()) as { results: Job[] };
    const id = job.results[0]!.id;
    const cancel = await post(`/v1/jobs/${id}/cancel`, {}, { key });
    expect(cancel.status).toBeLessThan(300);
    const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
    const { sealedSecrets, ...rest } = row!;
    expect(sealedSecrets).not.toContain(secret);
    expect(JSON.stringify(rest)).not.toContain(secret);
    const [kept] = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.key, idempotencyKey)));
    expect(JSON.stringify(kept)).not.toContain(secret);
    const deliveries = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, id));
    expect(deliveries.length).toBeGreaterThan(0);
    expect(JSON.stringify(deliveries)).not.toContain(secret);
  });

  it("gives the values to no provider but the one the job was offered to: not another one's accept, nor its advertise", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    const { provider: other } = await ownProvider();
    const secret = token();
    const created = await post("/v1/jobs", { ...specFor(cpus), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret } }, { key });
    expect(created.status).toBe(201);
    const offer = await provider.next("job.offer");
    // The other provider signs an accept for a job it was never offered, and says it runs it.
    await other.sendAccept(offer);
    other.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources: { cpus: 1, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [] }, pricing: { gpu_second_wei: "1000", cpu_second_wei: "100000000000000" }, running: [offer.job_id] });
    expect(await other.receives("job.start", 500)).toBe(false);
    // The offered provider declines: it never sees the values either.
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: offer.job_id, reason: "no" });
    expect(await provider.receives("job.start", 300)).toBe(false);
    // Not left queued for the next test's provider (a larger one) to be offered.
    expect((await post(`/v1/jobs/${offer.job_id}/cancel`, {}, { key })).status).toBe(200);
    await provider.close();
    await other.close();
  });

  it("after a requeue gives the values to the next provider's start, and the first gets a cancel, not a start, when it reports the job again", async () => {
    const { key } = await signIn();
    const { provider: first, cpus } = await ownProvider();
    const secret = token();
    const created = await post("/v1/jobs", { ...specFor(cpus), secrets: ["HF_TOKEN"], secret_values: { HF_TOKEN: secret } }, { key });
    const job = (await created.json()) as Job;
    const offer = await first.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    await first.sendAccept(offer);
    expect((await first.next("job.start")).secrets).toEqual({ HF_TOKEN: secret });
    const second = await connectProvider({ resources: { cpus }, pricing: EXPENSIVE });
    // The first comes back without the job (it restarted), now too small to take it again: requeued, offered to the second.
    const small = { cpus: 0.001, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [] };
    const pricing = { gpu_second_wei: "1000", cpu_second_wei: "100000000000000" };
    first.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources: small, pricing, running: [] });
    const again = await second.next("job.offer", 15_000);
    expect(again.job_id).toBe(job.id);
    expect(JSON.stringify(again)).not.toContain(secret);
    await second.sendAccept(again);
    expect((await second.next("job.start")).secrets).toEqual({ HF_TOKEN: secret });
    first.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources: small, pricing, running: [job.id] });
    expect((await first.next("job.cancel")).job_id).toBe(job.id);
    expect(await first.receives("job.start", 300)).toBe(false);
    await first.close();
    await second.close();
  });
});
