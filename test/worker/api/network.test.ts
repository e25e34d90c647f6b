// The public network figures through the real Worker, D1 and matchmaker: what
// providers online offer, jobs per hour, exact totals of wei, and that nothing
// belonging to one creator comes out.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { JobActivity, NetworkSummary, ProviderProfile } from "../../../protocol/network.ts";
import { createDb } from "../../../worker/db/client.ts";
import { chainEvents, chainProviders } from "../../../worker/db/schema.ts";
import { eventually } from "../../helpers/eventually.ts";
import { insertJob } from "../chain/jobRows.ts";
import { call, post, signIn } from "../client.ts";
import { connectProvider, gpu } from "../providerSocket.ts";

const db = createDb(env.DB);
const summary = async () => NetworkSummary.parse(await (await call("/v1/network")).json());
const randomAddress = () => `0x${crypto.randomUUID().replaceAll("-", "")}${"0".repeat(8)}`;
const randomTx = () => `0x${crypto.randomUUID().replaceAll("-", "").repeat(2)}`;

describe("GET /v1/network", () => {
  it("lists a provider once it advertises, with its GPU models, VRAM and free capacity", async () => {
    const model = `NVIDIA H100 80GB HBM3 ${crypto.randomUUID().slice(0, 8)}`;
    const provider = await connectProvider({ resources: { cpus: 16, memory_mb: 65_536, gpus: [gpu(0, model, 81_559), gpu(1, model, 81_559)] } });
    const seen = await eventually(async () => {
      const figures = await summary();
      return figures.providers.find((p) => p.address === provider.address) && figures;
    }, { what: "the provider on the network page" });
    const listed = seen.providers.find((p) => p.address === provider.address)!;
    expect(listed.gpus).toEqual([{ model, vram_mb: 81_559, free: true }, { model, vram_mb: 81_559, free: true }]);
    expect(listed.cpus).toEqual({ total: 16, free: 16 });
    expect(seen.gpu_models).toContainEqual({ model, vram_mb: 81_559, total: 2, free: 2 });
    expect(seen.capacity.gpus.total).toBeGreaterThanOrEqual(2);
    expect(seen.providers_online).toBeGreaterThanOrEqual(1);
    await provider.close();
  });

  it("counts jobs queued now and shows no creator's address or job id", async () => {
    const creator = await signIn();
    const before = (await summary()).jobs.queued;
    // Asks for more than any test host has, so it stays queued.
    const response = await post("/v1/jobs", { image: "ghcr.io/pond/example:1.0", resources: { gpus: 0, cpus: 256, memory_mb: 2_097_152 }, timeout_s: 60, max_price_wei: "0" }, { key: creator.key });
    expect(response.status).toBe(201);
    const job = (await response.json()) as { id: string };
    const text = await (await call("/v1/network")).text();
    expect(NetworkSummary.parse(JSON.parse(text)).jobs.queued).toBeGreaterThan(before);
    expect(text.toLowerCase()).not.toContain(creator.account.address.toLowerCase());
    expect(text).not.toContain(job.id);
  });

  it("sums wei exactly past SQLite's 64-bit integers, and links settlements without naming the creator", async () => {
    const before = BigInt((await summary()).paid_out_wei);
    const provider = randomAddress();
    const creator = randomAddress();
    // 3 × 5 ETH: past 2^63 wei, where SUM() of integers would overflow.
    const amount = 5_000_000_000_000_000_001n;
    for (const label of ["a", "b", "c"]) await insertJob(`paid${label}`, { status: "succeeded", settlement: "settled", provider, amountWei: amount.toString() });
    const tx = randomTx();
    await db.insert(chainEvents).values({ txHash: tx, logIndex: 0, blockNumber: 9_000_000, blockHash: randomTx(), name: "JobSettled", args: { jobId: randomTx(), creator, provider, amount: amount.toString(), fee: "0" } });
    const figures = await summary();
    expect(BigInt(figures.paid_out_wei) - before).toBe(3n * amount);
    expect(figures.recent_settlements[0]).toEqual({ tx_hash: tx, tx_url: null, block_number: 9_000_000, provider, amount_wei: amount.toString() });
    expect(JSON.stringify(figures)).not.toContain(creator);
  });
});

describe("GET /v1/network/activity", () => {
  it("counts this hour's transitions into queued, processing and final statuses", async () => {
    const bucketNow = async () => JobActivity.parse(await (await call("/v1/network/activity?hours=3")).json()).buckets.at(-1)!;
    const before = await bucketNow();
    const job = await insertJob("activity");
    const now = Date.now();
    await env.DB.batch(
      [[null, "queued"], ["queued", "starting"], ["starting", "processing"], ["processing", "succeeded"]].map(([from, to]) =>
        env.DB.prepare("INSERT INTO job_transitions (job_id, from_status, to_status, at) VALUES (?, ?, ?, ?)").bind(job.id, from, to, now),
      ),
    );
    const after = await bucketNow();
    expect([after.queued - before.queued, after.started - before.started, after.finished - before.finished]).toEqual([1, 1, 1]);
    const activity = JobActivity.parse(await (await call("/v1/network/activity?hours=3")).json());
    expect(activity.buckets).toHaveLength(3);
  });

  it("refuses an hour count out of range with a problem naming the field", async () => {
    const response = await call("/v1/network/activity?hours=0");
    expect(response.status).toBe(422);
    expect(response.headers.get("content-type")).toContain("application/problem+json");
    expect(JSON.stringify(await response.json())).toContain("hours");
  });
});

describe("GET /v1/providers/:address", () => {
  it("shows stake and on-chain counters, jobs run by outcome, and earnings", async () => {
    const provider = randomAddress();
    await db.insert(chainProviders).values({ address: provider, stakeWei: "1000000000000000000", jobsSettled: 2, jobsChallenged: 1, jobsSlashed: 0, updatedBlock: 1 });
    await insertJob("ran1", { status: "succeeded", settlement: "settled", provider, amountWei: "700" });
    await insertJob("ran2", { status: "failed", provider });
    await insertJob("ran3", { status: "processing", provider });
    const response = await call(`/v1/providers/${provider.toUpperCase().replace("0X", "0x")}`);
    expect(response.status).toBe(200);
    const profile = ProviderProfile.parse(await response.json());
    expect(profile).toMatchObject({
      address: provider,
      registered: true,
      stake_wei: "1000000000000000000",
      reputation: { jobs_settled: 2, jobs_challenged: 1, jobs_slashed: 0 },
      jobs: { running: 1, succeeded: 1, failed: 1, other: 0 },
      earnings_wei: "700",
      online: null,
    });
  });

  it("answers an address never seen with an empty record, and a malformed one with 422", async () => {
    const profile = ProviderProfile.parse(await (await call(`/v1/providers/${randomAddress()}`)).json());
    expect(profile).toMatchObject({ registered: false, stake_wei: "0", earnings_wei: "0", jobs: { running: 0, succeeded: 0, failed: 0, other: 0 } });
    const bad = await call("/v1/providers/0x1234");
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toMatch(/address/);
  });
});
