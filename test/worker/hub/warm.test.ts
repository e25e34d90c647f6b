// What providers hold warm, through the real hubs and matchmakers: a warm set a
// provider sends reaches the matchmakers that serve it and steers a job whose
// image (pinned by digest) or input files it holds there, over a cheaper
// provider that fits as well; it goes when the provider goes; a malformed or
// oversized set is refused, the last good one kept; and a result's word on how
// warm the job was is what the job shows.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION, type WarmSet } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import type { JobQuote } from "../../../protocol/quote.ts";
import { matchmakerOf } from "../../../worker/bindings/objects.ts";
import { eventually } from "../../helpers/eventually.ts";
import { assignedJob, uniqueCpus } from "../assignedJob.ts";
import { call, post, signIn } from "../client.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";

const hex = (bytes: number) => [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
const jobOf = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

/** Who the CPU matchmaker lists as holding this image digest or input hash. */
function holders(table: "warm_images" | "warm_inputs", key: string): Promise<string[]> {
  const column = table === "warm_images" ? "digest" : "sha256";
  return runInDurableObject(matchmakerOf(env, "cpu"), (_instance, state) =>
    state.storage.sql
      .exec(`SELECT address FROM ${table} WHERE ${column} = ?`, key)
      .toArray()
      .map((row) => String(row.address)),
  );
}

/** Jobs a test leaves queued would be offered to the next test's providers: each test cancels its own. */
async function cancel(key: string, ...jobs: Job[]): Promise<void> {
  for (const job of jobs) expect((await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key })).status).toBeLessThan(300);
}

async function createJob(key: string, spec: Record<string, unknown>): Promise<Job> {
  const response = await post("/v1/jobs", { timeout_s: 60, max_price_wei: "1000000000000000000", ...spec }, { key });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Job;
}

/** Two providers of one size, both able to take two jobs of `cpus`: the cheap one wins unless warmth says otherwise. */
async function twoProviders(): Promise<{ cpus: number; cheap: TestProvider; pricey: TestProvider }> {
  const cpus = uniqueCpus();
  const cheap = await connectProvider({ resources: { cpus: cpus * 2 }, pricing: { cpu_second_wei: "1" } });
  const pricey = await connectProvider({ resources: { cpus: cpus * 2 }, pricing: { cpu_second_wei: "2" } });
  return { cpus, cheap, pricey };
}

describe("warm providers", () => {
  it("are what a quote names: the dearer provider holding the job's image, with the bytes it saves", async () => {
    const { key } = await signIn();
    const { cpus, cheap, pricey } = await twoProviders();
    const digest = `sha256:${hex(32)}`;
    pricey.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm: { images: [{ digest, bytes: 1_070_000_000 }], inputs: [] } });
    await eventually(async () => (await holders("warm_images", digest)).includes(pricey.address), { what: "the warm set to reach the matchmaker" });
    const quoteOf = async (image: string) => {
      const response = await post("/v1/jobs/quote", { image, resources: { gpus: 0, cpus, memory_mb: 256 }, timeout_s: 60, max_price_wei: "1000000000000000000" }, { key });
      expect(response.status).toBe(200);
      return (await response.json()) as JobQuote;
    };
    const rateOf = (weiPerCpuSecond: bigint) => ((BigInt(Math.ceil(cpus * 1000)) * weiPerCpuSecond + 999n) / 1000n).toString();
    expect(await quoteOf(`registry.example.com/ml/torch@${digest}`)).toMatchObject({ matches_now: true, offered_rate_wei_per_second: rateOf(2n), offered_warm_bytes: 1_070_000_000 });
    // By tag, nothing is known to be held: the cheaper one, cold.
    expect(await quoteOf("registry.example.com/ml/torch:1.13")).toMatchObject({ matches_now: true, offered_rate_wei_per_second: rateOf(1n), offered_warm_bytes: 0 });
    // An input it has cached, named as another job's output (as pond run --dry-run sends one): warm by its size.
    const sha256 = hex(32);
    cheap.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm: { images: [], inputs: [sha256] } });
    await eventually(async () => (await holders("warm_inputs", sha256)).includes(cheap.address), { what: "the cached input to reach the matchmaker" });
    const withInput = await post(
      "/v1/jobs/quote",
      { image: "registry.example.com/ml/torch:1.13", input_files: [{ path: "model.pt", size: 23_000, sha256, from: { job: "job_earlier", output: "model.pt" } }], resources: { gpus: 0, cpus, memory_mb: 256 }, timeout_s: 60, max_price_wei: "1000000000000000000" },
      { key },
    );
    expect(await withInput.json()).toMatchObject({ offered_rate_wei_per_second: rateOf(1n), offered_warm_bytes: 23_000 });
    await cheap.close();
    await pricey.close();
  });

  it("sends a job pinned to an image digest to the provider that holds it, over a cheaper one", async () => {
    const { key } = await signIn();
    const { cpus, cheap, pricey } = await twoProviders();
    const digest = `sha256:${hex(32)}`;
    const warm: WarmSet = { images: [{ digest, bytes: 1_070_000_000 }], inputs: [] };
    pricey.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm });
    await eventually(async () => (await holders("warm_images", digest)).includes(pricey.address), { what: "the warm set to reach the matchmaker" });

    // The same image by tag says nothing about what is held: the cheaper provider gets it.
    const byTag = await createJob(key, { image: "registry.example.com/ml/torch:1.13", resources: { gpus: 0, cpus, memory_mb: 256 } });
    expect((await cheap.next("job.offer")).job_id).toBe(byTag.id);
    const pinned = await createJob(key, { image: `registry.example.com/ml/torch@${digest}`, resources: { gpus: 0, cpus, memory_mb: 256 } });
    expect((await pricey.next("job.offer")).job_id).toBe(pinned.id);
    expect(await cheap.receives("job.offer", 300)).toBe(false);
    await cancel(key, byTag, pinned);
    await cheap.close();
    await pricey.close();
  });

  it("steers by cached inputs from the advertise itself, and forgets the set when the provider leaves", async () => {
    const { key } = await signIn();
    const { cpus, cheap, pricey } = await twoProviders();
    const sha256 = hex(32);
    pricey.send({
      v: HUB_PROTOCOL_VERSION,
      type: "advertise",
      resources: { cpus: cpus * 2, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [] },
      pricing: { gpu_second_wei: "1000", cpu_second_wei: "2" },
      running: [],
      warm: { images: [], inputs: [sha256] },
    });
    await eventually(async () => (await holders("warm_inputs", sha256)).includes(pricey.address), { what: "the advertised warm set to reach the matchmaker" });
    const job = await createJob(key, { image: "ghcr.io/pond/example:1.0", input_files: [{ path: "data.bin", size: 1 << 30, sha256 }], resources: { gpus: 0, cpus, memory_mb: 256 } });
    expect((await pricey.next("job.offer")).job_id).toBe(job.id);

    await cancel(key, job);
    await pricey.close();
    expect(await holders("warm_inputs", sha256)).toEqual([]);
    await cheap.close();
  });

  it("refuses an oversized or malformed warm set with bad_frame, keeps the provider's last good set and its connection", async () => {
    const p = await connectProvider({ resources: { cpus: 3 } });
    const good = hex(32);
    p.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm: { images: [], inputs: [good] } satisfies WarmSet });
    await eventually(async () => (await holders("warm_inputs", good)).includes(p.address), { what: "the good set to land" });

    const bad: unknown[] = [
      { images: [], inputs: Array.from({ length: 257 }, () => hex(32)) },
      { images: Array.from({ length: 65 }, () => ({ digest: `sha256:${hex(32)}`, bytes: 1 })), inputs: [] },
      { images: [{ digest: `sha256:${hex(32)}`, bytes: -1 }], inputs: [] },
      { images: [{ digest: "sha256:../../etc", bytes: 1 }], inputs: [] },
      { images: [], inputs: ["X".repeat(64)] },
      { images: [], inputs: Array.from({ length: 100_000 }, () => "a") },
    ];
    for (const warm of bad) {
      p.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm });
      const error = await p.next("error");
      expect(error.code).toBe("bad_frame");
      expect(error.message.length).toBeLessThan(5_000);
    }
    // Nothing of the refused sets landed; the last good one is still there, and the socket still works.
    expect(await holders("warm_inputs", good)).toContain(p.address);
    const next = hex(32);
    p.send({ v: HUB_PROTOCOL_VERSION, type: "warm", warm: { images: [], inputs: [next] } });
    await eventually(async () => (await holders("warm_inputs", next)).includes(p.address), { what: "a later good set to land" });
    expect(await holders("warm_inputs", good)).not.toContain(p.address);
    await p.close();
  });

  it("shows whether the job's image and inputs were warm, as the provider's result says", async () => {
    const { key, job, provider } = await assignedJob();
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: job.id, phase: "running" });
    provider.send({
      v: HUB_PROTOCOL_VERSION,
      type: "job.result",
      job_id: job.id,
      outcome: "failed",
      exit_code: 1,
      error: "exited with code 1",
      manifest: null,
      amount_wei: "0",
      signature: null,
      metrics: { pull_ms: 40, run_ms: 2, inputs_transfer: { route: "cache", bytes: 0, ms: 3, cached_bytes: 1 << 30 }, image: { warm: true, ms: 2 } },
    });
    const done = await eventually(async () => {
      const current = await jobOf(key, job.id);
      return current.status === "failed" && current;
    });
    expect(done.metrics.transfer).toEqual({ inputs: { route: "cache", bytes: 0, ms: 3, cached_bytes: 1 << 30 }, outputs: null, image: { warm: true, ms: 2 } });
    await provider.close();
  });
});
