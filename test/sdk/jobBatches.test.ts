// The SDK's batch create, against a stand-in API (fetch answered in the test: what
// is checked is what the SDK sends and how it reports a refusal; the API's side is
// test/worker/api/jobBatch.test.ts in workerd): a batch too big for one request is
// refused before anything is sent, and a template run the API refuses while the
// batch is signed is named by its place, as the API names one.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../protocol/limits.ts";
import { PondApiError, PondClient, StopEarlyIgnoredError } from "../../sdk/index.ts";

const chain = { settles_on_chain: false, chain: "local", chain_id: 31337, market_address: null, relayer_address: null, eip712_domain: { name: "Pond", version: "1", chainId: 31337, verifyingContract: `0x${"0".repeat(40)}` } };
const spec = { image: "busybox", cmd: ["true"], resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1" };

function standIn(answer: (method: string, path: string, body: unknown) => Response) {
  const sent: Array<{ method: string; path: string; body: unknown }> = [];
  const fetch = async (request: Request) => {
    const path = new URL(request.url).pathname;
    const body = request.method === "GET" ? undefined : ((await request.json()) as unknown);
    sent.push({ method: request.method, path, body });
    return answer(request.method, path, body);
  };
  return { sent, client: new PondClient({ baseUrl: "https://pond.test", apiKey: "pond_test", fetch: fetch as typeof globalThis.fetch }) };
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": status >= 400 ? "application/problem+json" : "application/json" } });

describe("the SDK's batch create", () => {
  it("refuses a batch bigger than one request can carry before sending it, saying how big it is", async () => {
    const { sent, client } = standIn(() => json({}, 500));
    const fat = Array.from({ length: 20 }, () => ({ ...spec, env: { BLOB: "x".repeat(60_000) } }));
    const refusal = await client.createJobs(fat).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RangeError);
    expect((refusal as Error).message).toMatch(new RegExp(`these 20 jobs come to \\d+ bytes together, more than the ${MAX_BODY_BYTES}`));
    expect(sent).toEqual([]);
  });

  it("names a template run the API refuses while the batch is made by its place, and sends nothing", async () => {
    const { sent, client } = standIn((method, path, body) => {
      if (path === "/v1/chain") return json(chain);
      if (path.endsWith("/resolve")) {
        const params = (body as { params?: { lr?: string } }).params;
        if (params?.lr === "bad") return json({ type: "https://pond.dev/problems/validation-failed", title: "Validation failed", status: 422, detail: "the run has invalid values: params.lr", errors: [{ path: "params.lr", message: "must be a number" }] }, 422);
        return json({ template: "me/train@1.0.0", spec });
      }
      return json({ type: "about:blank", title: "Unexpected", status: 500, detail: `${method} ${path}` }, 500);
    });
    const jobs = ["0.1", "bad", "0.01"].map((lr) => ({ template: "me/train@1.0.0", choices: { params: { lr } } }));
    const refusal = await client.createPaidJobs(jobs, privateKeyToAccount(generatePrivateKey())).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PondApiError);
    expect((refusal as PondApiError).problem).toMatchObject({ status: 422, detail: "jobs.1: the run has invalid values: params.lr", errors: [{ path: "jobs.1.params.lr", message: "must be a number" }] });
    expect(sent.some((request) => request.path === "/v1/jobs/batch")).toBe(false);
  });

  it("sends stop_early with the batch, and says so, holding the created jobs, when the API answers without it", async () => {
    const stopEarly = { metric: "val_loss", mode: "min", after_step: 20 } as const;
    // A queued job as the API answers one: the SDK reads each through its schema.
    const job = (id: string) => ({
      id,
      status: "queued",
      status_detail: null,
      spec,
      output: null,
      error: null,
      exit_code: null,
      metrics: { queue_ms: null, pull_ms: null, run_ms: null },
      provider: null,
      attempt: 0,
      settlement: "none",
      chain_job_id: "0x01",
      price: { rate_wei_per_second: null, max_wei: null, claimed_wei: null, claim_signature: null },
      created_at: new Date(0).toISOString(),
      started_at: null,
      completed_at: null,
      logs: "",
      urls: { get: "", cancel: "", logs: "", outputs: "" },
      webhook: null,
      webhook_events_filter: [],
      template: null,
    });
    let echo = true;
    const { sent, client } = standIn((_method, path, body) => {
      if (path !== "/v1/jobs/batch") return json({}, 500);
      const jobs = (body as { jobs: unknown[] }).jobs.map((_, i) => job(`job_${i}`));
      return json({ jobs, ...(echo ? { stop_early: stopEarly } : {}) }, 201);
    });
    const specs = [spec, spec, spec, spec];
    const created = await client.createJobs(specs, { stopEarly });
    expect(created.map((j) => j.id)).toEqual(["job_0", "job_1", "job_2", "job_3"]);
    expect(sent[0]!.body).toMatchObject({ stop_early: stopEarly });
    echo = false;
    const ignored = await client.createJobs(specs, { stopEarly }).catch((error: unknown) => error);
    expect(ignored).toBeInstanceOf(StopEarlyIgnoredError);
    expect((ignored as StopEarlyIgnoredError).message).toMatch(/created the 4 jobs but did not take stop_early/);
    expect((ignored as StopEarlyIgnoredError).jobs.map((j) => j.id)).toEqual(["job_0", "job_1", "job_2", "job_3"]);
    // Without stopEarly, an answer without it is what was asked for.
    expect(await client.createJobs(specs)).toHaveLength(4);
  });
});
