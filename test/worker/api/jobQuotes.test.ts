// POST /v1/jobs/quote through the real Worker, hub and matchmaker: a provider
// online answers for a job it fits (a spec or a template run), at its rate, and
// nothing is created or offered; bad requests get the create route's problems.
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import type { JobQuote } from "../../../protocol/quote.ts";
import { eventually } from "../../helpers/eventually.ts";
import { EXPENSIVE, ownProvider, specFor } from "../assignedJob.ts";
import { call, post, signIn } from "../client.ts";
import { connectProvider } from "../providerSocket.ts";

/** Polled no faster than this, a test's wait for a provider stays within the account's 60 quotes a minute. */
const QUOTE_POLL_MS = 500;

type Problem = { status: number; errors?: Array<{ path: string }> };

async function quoteOf(key: string, body: unknown): Promise<JobQuote> {
  const response = await post("/v1/jobs/quote", body, { key });
  expect(response.status).toBe(200);
  return (await response.json()) as JobQuote;
}

describe("POST /v1/jobs/quote", () => {
  it("answers for a spec and a template run from the providers online, at their rate, creating and offering nothing", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    // The provider's rate for this job: its CPU price over the job's thousandths of a CPU, rounded up.
    const rate = (BigInt(Math.ceil(cpus * 1000)) * BigInt(EXPENSIVE.cpu_second_wei) + 999n) / 1000n;
    const quote = await eventually(async () => {
      const q = await quoteOf(key, specFor(cpus));
      return q.matches_now && q;
    }, { what: "the provider to be quoted", intervalMs: QUOTE_POLL_MS });
    expect(quote).toMatchObject({ providers_fit: 1, providers_free: 1, providers_within_price: 1, rate_wei_per_second: { lowest: `${rate}`, highest: `${rate}` }, offered_rate_wei_per_second: `${rate}`, max_cost_wei: `${rate * 60n}` });

    const name = `q${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}/job`;
    const template = { name, version: "1.0.0", description: "quoted", image: `registry.example/q@sha256:${"ef".repeat(32)}`, resources: specFor(cpus).resources, timeout_s: 120, default_max_price_wei: "1000", deterministic: true };
    expect((await post("/v1/templates", template, { key })).status).toBe(201);
    const cheap = await quoteOf(key, { template: `${name}@1.0.0` });
    expect(cheap).toMatchObject({ providers_fit: 1, providers_within_price: 0, matches_now: false, max_cost_wei: null });
    expect(cheap.detail).toMatch(/charges more than max_price_wei/);
    expect((await quoteOf(key, { template: `${name}@1.0.0`, max_price_wei: `${rate * 120n}` })).matches_now).toBe(true);

    const listed = (await (await call("/v1/jobs?limit=100", { key })).json()) as { results: Job[] };
    expect(listed.results).toEqual([]);
    expect(await provider.receives("job.offer", 300)).toBe(false);
    await provider.close();
  });

  it("asks the GPU class's matchmaker for a GPU job, and says no provider has the cards it needs", async () => {
    const { key } = await signIn();
    const h100 = { index: 0, uuid: `GPU-${crypto.randomUUID()}`, model: "NVIDIA H100 80GB HBM3", vram_mb: 81_559 };
    const provider = await connectProvider({ resources: { cpus: 4, gpus: [h100] }, pricing: { gpu_second_wei: "7", cpu_second_wei: "0" } });
    const gpuJob = (resources: Record<string, unknown>) => ({ ...specFor(1), resources: { cpus: 1, memory_mb: 512, ...resources } });
    const fits = await eventually(async () => {
      const q = await quoteOf(key, gpuJob({ gpus: 1, gpu_models: ["h100"] }));
      return q.matches_now && q;
    }, { what: "the GPU provider to be quoted", intervalMs: QUOTE_POLL_MS });
    expect(fits).toMatchObject({ providers_fit: 1, offered_rate_wei_per_second: "7", max_cost_wei: "420" });
    const none = await quoteOf(key, gpuJob({ gpus: 8, gpu_models: ["B300"] }));
    expect(none).toMatchObject({ providers_fit: 0, providers_free: 0, rate_wei_per_second: null, max_cost_wei: null, matches_now: false });
    expect(none.detail).toBe("no connected provider has 8 GPUs of model B300, 1 CPU, 512 MiB memory");
    await provider.close();
  });

  it("bounds one account's quotes a minute (429 with Retry-After), leaving other accounts' quotes and every job's matching alone", async () => {
    const flooder = await signIn();
    let limited: Response | undefined;
    // The QUOTE_LIMITER binding's limit per account and minute (wrangler.toml): 60; within two windows' allowance.
    for (let i = 0; i <= 2 * 60 && !limited; i++) {
      const response = await post("/v1/jobs/quote", specFor(1), { key: flooder.key });
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(200);
    }
    expect(limited, "a 429 within two windows' allowance").toBeDefined();
    expect(limited!.headers.get("content-type")).toBe("application/problem+json");
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(((await limited!.json()) as { detail: string }).detail).toMatch(/too many quotes asked by this account/);

    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    // Another account is quoted as ever (quoteOf checks the 200), its provider found.
    await eventually(async () => (await quoteOf(key, specFor(cpus))).matches_now, { what: "another account's quote", intervalMs: QUOTE_POLL_MS });
    // A job is still matched and offered at once.
    const job = (await (await post("/v1/jobs", specFor(cpus), { key })).json()) as Job;
    expect((await provider.next("job.offer")).job_id).toBe(job.id);
    await provider.close();
  });

  it("refuses without a key (401), names a malformed field (422) and answers 404 for an unknown template", async () => {
    const { key } = await signIn();
    expect((await post("/v1/jobs/quote", specFor(1))).status).toBe(401);
    const malformed = await post("/v1/jobs/quote", { ...specFor(1), timeout_s: -1 }, { key });
    expect(malformed.status).toBe(422);
    expect(malformed.headers.get("content-type")).toContain("application/problem+json");
    expect(((await malformed.json()) as Problem).errors!.map((e) => e.path)).toContain("timeout_s");
    expect((await post("/v1/jobs/quote", { template: "nobody/nothing@1.0.0" }, { key })).status).toBe(404);
  });
});
