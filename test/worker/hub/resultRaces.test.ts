// The hub's accept / status / result path under races and hostile results: a restart,
// two results at once, a result against a cancel, malformed inline outputs, a requeue;
// and the cases of strangerWrites.test.ts without a held copy (read from D1).
import { env, runInDurableObject } from "cloudflare:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { hubOf, jobRoomOf } from "../../../worker/bindings/objects.ts";
import { shardOf } from "../../../worker/bindings/sharding.ts";
import { getConfig } from "../../../worker/config/config.ts";
import type { ProviderHub } from "../../../worker/objects/ProviderHub.ts";
import { eventually } from "../../helpers/eventually.ts";
import { EXPENSIVE, processingJob, specFor, uniqueCpus } from "../assignedJob.ts";
import { call, post, signIn } from "../client.ts";
import { jobOf, roomCount, storedOutputs } from "../jobReads.ts";
import { inlineResult, signedResult } from "../providerOutputs.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const bytes = (text: string) => new TextEncoder().encode(text);

/** The hub object's in-memory state, as a restart would leave it: no held copies, no job queues. */
function forgetMemory(provider: TestProvider, jobId?: string) {
  return runInDurableObject(hubOf(env, getConfig(env), provider.address), (instance: ProviderHub) => {
    const hub = instance as unknown as { state: { store: { heldJobs: { jobs: Map<string, unknown>; get(id: string): unknown } } }; jobQueues: Map<string, unknown> };
    const had = jobId ? hub.state.store.heldJobs.get(jobId) !== undefined : true;
    hub.state.store.heldJobs.jobs.clear();
    return had;
  });
}

describe("without a held copy (the cases of strangerWrites.test.ts)", () => {
  it("without a held copy (read from D1), a provider D1 no longer names stores nothing inline", async () => {
    const { provider, offer } = await processingJob();
    expect(await forgetMemory(provider, offer.job_id)).toBe(true);
    await env.DB.prepare("UPDATE jobs SET provider = ? WHERE id = ?").bind("0x000000000000000000000000000000000000dead", offer.job_id).run();
    provider.send(await inlineResult(provider, offer, { "model.pt": bytes("planted weights") }));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: false, error: expect.stringMatching(/not assigned to you/) });
    expect(await storedOutputs(offer.job_id)).toEqual([]);
    await provider.close();
  });

  it("with the same slow room but no neighbour's flood, the job's own lines all get through", async () => {
    const { provider, offer } = await processingJob();
    const jobId = offer.job_id;
    const slowRoom = runInDurableObject(jobRoomOf(env, jobId), (_room, state) => state.blockConcurrencyWhile(() => sleep(4_000)));
    await sleep(300);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: "OWN-LINE-1\n" });
    await sleep(1_300);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: `OWN-LINE-2 ${"o".repeat(4000)}\n` });
    await slowRoom;
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: "OWN-LINE-3\n" });
    await eventually(async () => (await roomCount(jobId, "OWN-LINE-3")) === 1, { what: "the last line in the room" });
    expect(await roomCount(jobId, "OWN-LINE-2")).toBe(1);
    await provider.close();
  });
});

describe("results under races and hostile input", () => {
  it("after the hub forgets its copies (as a restart would), a running job's inline result is still checked, stored and succeeds it", async () => {
    const { key, provider, offer } = await processingJob();
    expect(await forgetMemory(provider, offer.job_id)).toBe(true);
    provider.send(await inlineResult(provider, offer, { "metrics.json": bytes('{"a":1}') }));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    const job = await jobOf(key, offer.job_id);
    expect(job.status).toBe("succeeded");
    expect(await (await call(`/v1/jobs/${offer.job_id}/outputs/metrics.json`, { key })).text()).toBe('{"a":1}');
    await provider.close();
  });

  it("two results sent back to back: the first ends the job, the second changes nothing (output, claim, stored bytes)", async () => {
    const { key, provider, offer } = await processingJob();
    const first = await inlineResult(provider, offer, { "out.txt": bytes("first") });
    const second = await inlineResult(provider, offer, { "out.txt": bytes("second!") });
    provider.send(first);
    provider.send(second);
    const acks = [await provider.next("job.result.ack"), await provider.next("job.result.ack")];
    expect(acks[0]).toMatchObject({ accepted: true });
    const job = await jobOf(key, offer.job_id);
    expect(job.status).toBe("succeeded");
    expect(job.output).toEqual(first.manifest);
    expect(job.price?.claim_signature).toBe(first.signature.toLowerCase());
    expect(await storedOutputs(offer.job_id)).toHaveLength(1);
    expect(await (await call(`/v1/jobs/${offer.job_id}/outputs/out.txt`, { key })).text()).toBe("first");
    const transitions = (await (await call(`/v1/jobs/${offer.job_id}/transitions`, { key })).json()) as { results: { to: string }[] };
    expect(transitions.results.filter((t) => t.to === "succeeded")).toHaveLength(1);
    await provider.close();
  });

  it("a result racing its creator's cancel: exactly one wins, and the job is consistent with it", async () => {
    const { key, provider, offer } = await processingJob();
    provider.send(await signedResult(provider, offer, []));
    const cancel = await post(`/v1/jobs/${offer.job_id}/cancel`, {}, { key });
    const ack = await provider.next("job.result.ack");
    const job = await jobOf(key, offer.job_id);
    if (cancel.status === 200) {
      expect(job.status).toBe("canceled");
      expect(ack.accepted).toBe(false);
      expect(job.output).toBeNull();
      expect(job.price?.claim_signature ?? null).toBeNull();
    } else {
      expect(cancel.status).toBe(409);
      expect(ack.accepted).toBe(true);
      expect(job.status).toBe("succeeded");
    }
    await provider.close();
  });

  it.each([
    ["65 files", () => Array.from({ length: 65 }, (_, i) => ({ path: `f${i}`, data_base64: btoa("x") }))],
    ["more than 64 KiB", () => [{ path: "big", data_base64: btoa("x".repeat(64 * 1024 + 1)) }]],
    ["a '..' segment", () => [{ path: "../x", data_base64: btoa("x") }]],
    ["a NUL in the name", () => [{ path: "a\u0000b", data_base64: btoa("x") }]],
    ["a repeated path", () => [{ path: "a", data_base64: btoa("x") }, { path: "a", data_base64: btoa("x") }]],
    ["base64 garbage", () => [{ path: "a", data_base64: "!!!notbase64" }]],
  ])("refuses a result whose inline outputs carry %s, keeps the job running and lets its real result through", async (_case, inline) => {
    const { key, provider, offer } = await processingJob();
    provider.send({ ...(await inlineResult(provider, offer, { a: bytes("x") })), inline_outputs: inline() });
    expect(await provider.next("error")).toMatchObject({ code: "bad_frame" });
    expect((await jobOf(key, offer.job_id)).status).toBe("processing");
    expect(await storedOutputs(offer.job_id)).toEqual([]);
    provider.send(await inlineResult(provider, offer, { a: bytes("x") }));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    await provider.close();
  });

  it("a manifest listing a file both inline and as an upload that never happened is not taken on the inline copy's word alone for the other path", async () => {
    const { key, provider, offer } = await processingJob();
    const inline = await inlineResult(provider, offer, { "a.txt": bytes("aaa") });
    // The same bytes named twice: one path inline, one claimed uploaded (never was).
    const files = [...inline.manifest!.files, { ...inline.manifest!.files[0]!, path: "b.txt" }];
    provider.send({ ...(await signedResult(provider, offer, files)), inline_outputs: inline.inline_outputs! });
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: false, error: "output b.txt was not uploaded" });
    expect((await jobOf(key, offer.job_id)).status).toBe("failed");
    expect(await storedOutputs(offer.job_id)).toEqual([]);
    await provider.close();
  });

  it("a provider only offered a job (not accepted) cannot set it running or post its result", async () => {
    const { key } = await signIn();
    const cpus = uniqueCpus();
    const provider = await connectProvider({ resources: { cpus }, pricing: EXPENSIVE });
    const job = (await (await post("/v1/jobs", specFor(cpus), { key })).json()) as Job;
    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(job.id);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: job.id, phase: "running" });
    provider.send(await inlineResult(provider, offer, { "x.bin": bytes("x") }));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: false });
    expect((await jobOf(key, job.id)).status).toBe("queued");
    expect(await storedOutputs(job.id)).toEqual([]);
    await post(`/v1/jobs/${job.id}/cancel`, {}, { key });
    await provider.close();
  });

  it("after a restart-requeue and reassignment to another provider, the first provider can neither set it running nor post its result", async () => {
    const { key } = await signIn();
    const cpus = uniqueCpus();
    const firstAccount = privateKeyToAccount(generatePrivateKey());
    const first = await connectProvider({ account: firstAccount, resources: { cpus }, pricing: EXPENSIVE });
    const job = (await (await post("/v1/jobs", specFor(cpus), { key })).json()) as Job;
    const offer = await first.next("job.offer");
    await first.accept(offer);
    first.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: job.id, phase: "running" });
    await eventually(async () => (await jobOf(key, job.id)).status === "processing");

    // A second provider on the same hub shard, big enough for the job.
    const shards = getConfig(env).hubShards;
    let account = privateKeyToAccount(generatePrivateKey());
    while (shardOf(account.address, shards) !== shardOf(first.address, shards)) account = privateKeyToAccount(generatePrivateKey());
    const second = await connectProvider({ account, resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    // The first comes back too small for the job and without it: it is requeued and goes to the second.
    const firstAgain = await connectProvider({ account: firstAccount, resources: { cpus: 1 }, pricing: EXPENSIVE });
    const reoffer = await second.next("job.offer", 20_000);
    expect(reoffer.job_id).toBe(job.id);
    await second.accept(reoffer);
    expect((await jobOf(key, job.id)).provider).toBe(second.address);

    firstAgain.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: job.id, phase: "running" });
    firstAgain.send(await inlineResult(firstAgain, offer, { "model.pt": bytes("stale weights") }));
    expect(await firstAgain.next("job.result.ack")).toMatchObject({ accepted: false });
    expect((await jobOf(key, job.id)).status).toBe("starting");
    expect(await storedOutputs(job.id)).toEqual([]);

    second.send(await inlineResult(second, reoffer, { "model.pt": bytes("real weights") }));
    expect(await second.next("job.result.ack")).toMatchObject({ accepted: true });
    const done = await jobOf(key, job.id);
    expect(done).toMatchObject({ status: "succeeded", provider: second.address });
    expect(await (await call(`/v1/jobs/${job.id}/outputs/model.pt`, { key })).text()).toBe("real weights");
    await Promise.all([firstAgain.close(), second.close()]);
    first.ws.close();
  });
});
