// Matching through the real Durable Objects: providers connect over WebSocket
// (advertising GPUs they claim to have), jobs come in over the API, and the
// offers land where the resources fit.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { shardOf } from "../../../worker/bindings/sharding.ts";
import { eventually } from "../../helpers/eventually.ts";
import { call, post, signIn, validJob } from "../client.ts";
import { connectProvider, gpu } from "../providerSocket.ts";

/** A GPU model no other test uses: jobs and providers of different tests never meet in the shared matchmaker. */
const model = (name: string) => `${name} ${crypto.randomUUID().slice(0, 8)}`;

async function createJob(key: string, resources: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<Job> {
  const response = await post("/v1/jobs", { ...validJob(), resources, ...extra }, { key });
  expect(response.status).toBe(201);
  return (await response.json()) as Job;
}

async function getJob(key: string, id: string): Promise<Job> {
  return (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;
}

describe("GPU matching through the hubs", () => {
  it("gives a multi-GPU job only a host where every GPU has the VRAM asked for", async () => {
    const { key } = await signIn();
    // One big GPU and one small: not enough for two 40 GB GPUs, though its largest is 80 GB.
    const h100 = model("NVIDIA H100 80GB HBM3");
    const mixed = await connectProvider({ resources: { gpus: [gpu(0, `${h100} small`, 24_576), gpu(1, h100, 81_559)] }, pricing: { gpu_second_wei: "1" } });
    const twoBig = await connectProvider({ resources: { gpus: [gpu(0, h100, 81_559), gpu(1, h100, 81_559)] }, pricing: { gpu_second_wei: "50" } });
    const job = await createJob(key, { gpus: 2, gpu_vram_mb: 40_000, gpu_models: [h100], cpus: 2, memory_mb: 4096 });
    const offer = await twoBig.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    expect(offer.gpu_uuids).toHaveLength(2);
    expect(await mixed.receives("job.offer", 300)).toBe(false);
    await mixed.close();
    await twoBig.close();
  });

  it("narrows by model and prefers the cheaper of two that fit", async () => {
    const { key } = await signIn();
    const family = model("family");
    const h100 = await connectProvider({ resources: { gpus: [gpu(0, `${family} H100`, 81_559)] }, pricing: { gpu_second_wei: "100" } });
    const cheapA10 = await connectProvider({ resources: { gpus: [gpu(0, `${family} A10`, 24_576)] }, pricing: { gpu_second_wei: "1" } });
    const pinned = await createJob(key, { gpus: 1, gpu_models: [`${family} h100`], cpus: 1, memory_mb: 1024 });
    expect((await h100.next("job.offer")).job_id).toBe(pinned.id);
    const any = await createJob(key, { gpus: 1, gpu_models: [family], cpus: 1, memory_mb: 1024 });
    expect((await cheapA10.next("job.offer")).job_id).toBe(any.id);
    await h100.close();
    await cheapA10.close();
  });

  it("prefers reputation over price", async () => {
    const { key } = await signIn();
    const l4 = model("NVIDIA L4");
    const trusted = await connectProvider({ resources: { gpus: [gpu(0, l4, 23_034)] }, pricing: { gpu_second_wei: "900" } });
    await env.DB.prepare("INSERT INTO chain_providers (address, jobs_settled) VALUES (?, 500)").bind(trusted.address).run();
    await trusted.close();
    // Reputation is read when a provider authenticates: connect again.
    const again = await connectProvider({ resources: { gpus: [gpu(0, l4, 23_034)] }, pricing: { gpu_second_wei: "900" }, account: trusted.account });
    const unknown = await connectProvider({ resources: { gpus: [gpu(0, l4, 23_034)] }, pricing: { gpu_second_wei: "1" } });
    const job = await createJob(key, { gpus: 1, gpu_models: [l4], cpus: 1, memory_mb: 1024 });
    expect((await again.next("job.offer")).job_id).toBe(job.id);
    await again.close();
    await unknown.close();
  });

  it("runs two jobs at once on a two-GPU host, on different GPUs, and holds the third", async () => {
    const { key } = await signIn();
    const ada = model("NVIDIA RTX 6000 Ada");
    const host = await connectProvider({ resources: { cpus: 16, gpus: [gpu(0, ada, 49_140), gpu(1, ada, 49_140)] } });
    for (let i = 0; i < 3; i++) await createJob(key, { gpus: 1, gpu_models: [ada], cpus: 1, memory_mb: 1024 });
    const first = await host.next("job.offer");
    await host.accept(first);
    const second = await host.next("job.offer");
    await host.accept(second);
    expect(new Set([...first.gpu_uuids, ...second.gpu_uuids]).size).toBe(2);
    expect(await host.receives("job.offer", 500)).toBe(false);

    // One finishes: its GPU goes to the third job.
    host.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: first.job_id, phase: "running" });
    host.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: first.job_id, outcome: "failed", exit_code: 1, error: "boom", manifest: null, amount_wei: "0", signature: null });
    expect((await host.next("job.result.ack")).accepted).toBe(true);
    const third = await host.next("job.offer");
    expect(third.gpu_uuids).toEqual(first.gpu_uuids);
    expect(await getJob(key, first.job_id)).toMatchObject({ status: "failed", exit_code: 1 });
    await host.close();
  });
});

describe("offers", () => {
  /** Two providers of one GPU model, the first cheaper (so offered the job first), and a job for that model. */
  async function cheaperFirst(gpuModel: string, vramMb: number) {
    const { key } = await signIn();
    const name = model(gpuModel);
    const first = await connectProvider({ resources: { gpus: [gpu(0, name, vramMb)] }, pricing: { gpu_second_wei: "1" } });
    const next = await connectProvider({ resources: { gpus: [gpu(0, name, vramMb)] }, pricing: { gpu_second_wei: "2" } });
    const job = await createJob(key, { gpus: 1, gpu_models: [name], cpus: 1, memory_mb: 1024 });
    return { key, job, first, next };
  }

  it("goes to the next provider when one declines", async () => {
    const { key, job, first: picky, next: willing } = await cheaperFirst("NVIDIA A40", 46_068);
    const first = await picky.next("job.offer");
    picky.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: first.job_id, reason: "busy" });
    const second = await willing.next("job.offer");
    expect(second.job_id).toBe(job.id);
    await willing.accept(second);
    const assigned = await getJob(key, job.id);
    expect(assigned.status).toBe("starting");
    expect(assigned.provider).toBe(willing.address);
    await picky.close();
    await willing.close();
  });

  it("goes to the next provider when one lets the offer expire", async () => {
    const { job, first: silent, next: awake } = await cheaperFirst("NVIDIA A6000", 49_140);
    expect((await silent.next("job.offer")).job_id).toBe(job.id);
    // No answer: the hub withdraws it and the next provider is asked.
    expect((await silent.next("job.cancel", 10_000)).reason).toMatch(/expired/);
    const offer = await awake.next("job.offer", 10_000);
    expect(offer.job_id).toBe(job.id);
    await silent.close();
    await awake.close();
  });

  it("cancels a badly signed acceptance to its sender, so it holds nothing for the job, and asks the next provider", async () => {
    const { job, first: forger, next: honest } = await cheaperFirst("NVIDIA L4", 23_034);
    const offer = await forger.next("job.offer");
    forger.send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature: `0x${"11".repeat(65)}` });
    const cancel = await forger.next("job.cancel");
    expect(cancel).toMatchObject({ job_id: job.id, reason: expect.stringMatching(/acceptance was refused/) });
    expect((await honest.next("job.offer", 10_000)).job_id).toBe(job.id);
    await forger.close();
    await honest.close();
  });

  it("refuses to accept a job that was canceled while offered", async () => {
    const { key } = await signIn();
    const t4 = model("NVIDIA T4");
    const p = await connectProvider({ resources: { gpus: [gpu(0, t4, 15_360)] } });
    const job = await createJob(key, { gpus: 1, gpu_models: [t4], cpus: 1, memory_mb: 1024 });
    const offer = await p.next("job.offer");
    await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key });
    p.send({ v: HUB_PROTOCOL_VERSION, type: "job.accept", job_id: offer.job_id, signature: "0x00" });
    // An unsigned acceptance is a decline; either way the job stays canceled.
    expect((await getJob(key, job.id)).status).toBe("canceled");
    await p.close();
  });
});

describe("shards", () => {
  it("matches across providers connected to different hub shards", async () => {
    const { key } = await signIn();
    const providers = [];
    const shards = new Set<number>();
    // Connect providers until at least two shards hold one.
    const v100 = model("NVIDIA V100");
    while (shards.size < 2) {
      const p = await connectProvider({ resources: { gpus: [gpu(0, v100, 32_768)] } });
      providers.push(p);
      shards.add(shardOf(p.address, 3));
    }
    const jobs = await Promise.all(providers.map(() => createJob(key, { gpus: 1, gpu_models: [v100], cpus: 1, memory_mb: 1024 })));
    const offered = await Promise.all(providers.map((p) => p.next("job.offer")));
    expect(new Set(offered.map((o) => o.job_id))).toEqual(new Set(jobs.map((j) => j.id)));
    await Promise.all(providers.map((p) => p.close()));
  });
});

describe("jobs nobody can run", () => {
  it("says why in status_detail, then fails when the match timeout passes", async () => {
    const { key } = await signIn();
    const l40s = model("NVIDIA L40S");
    const p = await connectProvider({ resources: { gpus: [gpu(0, l40s, 46_068)] } });
    const job = await createJob(key, { gpus: 4, gpu_vram_mb: 80_000, gpu_models: [l40s], cpus: 1, memory_mb: 1024 }, { match_timeout_s: 2 });
    const explained = await eventually(async () => {
      const current = await getJob(key, job.id);
      return current.status_detail?.includes("no connected provider") && current;
    });
    expect(explained.status_detail).toBe(`no connected provider has 4 GPUs with at least 80000 MiB VRAM each of model ${l40s}, 1 CPU, 1024 MiB memory`);
    const failed = await eventually(async () => {
      const current = await getJob(key, job.id);
      return current.status === "failed" && current;
    });
    expect(failed.error).toMatch(/no capacity for this job within its match timeout: no connected provider has 4 GPUs/);
    await p.close();
  });
});

describe("jobs that name hosts to reach", () => {
  it("are offered only to a provider that offers egress, and say why they wait while none does", async () => {
    const { key } = await signIn();
    const l4 = model("NVIDIA L4");
    const closed = await connectProvider({ resources: { gpus: [gpu(0, l4, 23_034)] }, pricing: { gpu_second_wei: "1" } });
    const job = await createJob(key, { gpus: 1, gpu_models: [l4], cpus: 1, memory_mb: 1024 }, { network: { allow: ["huggingface.co"] } });
    const waiting = await eventually(async () => (await getJob(key, job.id)).status_detail ?? undefined);
    expect(waiting).toBe("no connected provider offers network egress, which this job's network.allow needs");
    expect(await closed.receives("job.offer", 300)).toBe(false);
    const open = await connectProvider({ resources: { gpus: [gpu(0, l4, 23_034)], egress: true }, pricing: { gpu_second_wei: "50" } });
    const offer = await open.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    expect(offer.spec.network).toEqual({ allow: ["huggingface.co"] });
    await closed.close();
    await open.close();
  });
});

