// A running job's checkpoint (protocol/checkpoint.ts) through the real API and hub:
// its provider uploads the files and reports them, the job shows the latest, and a
// requeued job's next offer carries it to the provider that resumes it, who alone
// may read its files back.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { CheckpointFiles } from "../../../protocol/checkpoint.ts";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { checkpointObject, outputObjectKey, relayReadMessage, uploadHeaders } from "../../../protocol/uploads.ts";
import { eventually } from "../../helpers/eventually.ts";
import { hubOf } from "../../../worker/bindings/objects.ts";
import { getConfig } from "../../../worker/config/config.ts";
import { EXPENSIVE, ownProvider, specFor, uniqueCpus } from "../assignedJob.ts";
import { call, ORIGIN, post, signIn } from "../client.ts";
import { finishWithOutputs, uploadOutput } from "../providerOutputs.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";

const jobOf = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

async function signedRead(reader: Pick<TestProvider, "account" | "address">, jobId: string, sha256: string): Promise<Response> {
  const timestamp = Date.now();
  const signature = await reader.account.signMessage({ message: relayReadMessage({ jobId, object: checkpointObject(sha256), timestamp }) });
  return SELF.fetch(`${ORIGIN}/v1/providers/jobs/${jobId}/data/checkpoint/${sha256}`, {
    headers: { [uploadHeaders.provider]: reader.address, [uploadHeaders.timestamp]: String(timestamp), [uploadHeaders.signature]: signature },
  });
}

/** A job that saves checkpoints, accepted and running on a provider of its own. */
async function checkpointingJob(spec: Record<string, unknown> = { checkpoint: { interval_s: 10 } }) {
  const { key } = await signIn();
  const { provider, cpus } = await ownProvider();
  const created = await post("/v1/jobs", { ...specFor(cpus), ...spec }, { key });
  expect(created.status).toBe(201);
  const job = (await created.json()) as Job;
  const offer = await provider.next("job.offer");
  expect(offer.job_id).toBe(job.id);
  expect(offer.checkpoint).toBeUndefined();
  await provider.accept(offer);
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: job.id, phase: "running" });
  await eventually(async () => (await jobOf(key, job.id)).status === "processing", { what: "the job running" });
  return { key, provider, cpus, job };
}

/** Uploads each file under checkpoint/<path>, as the daemon does, then reports them. */
async function saveCheckpoint(provider: TestProvider, jobId: string, files: Record<string, string>): Promise<CheckpointFiles> {
  const listed = [];
  for (const [path, text] of Object.entries(files)) {
    const stored = await uploadOutput(provider, jobId, `checkpoint/${path}`, new TextEncoder().encode(text));
    listed.push({ ...stored, path });
  }
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.checkpoint", job_id: jobId, files: listed });
  return listed;
}

describe("a job's checkpoint", () => {
  it("is kept and shown, carried by the offer after a requeue, and readable by the provider that resumes the job alone", async () => {
    const { key, provider: first, cpus, job } = await checkpointingJob();
    const files = await saveCheckpoint(first, job.id, { "model.pt": "weights after epoch 7", "state/step": "7" });
    const saved = await eventually(async () => (await jobOf(key, job.id)).checkpoint ?? false, { what: "the checkpoint kept" });
    expect(saved).toMatchObject({ files, bytes: files.reduce((sum, file) => sum + file.size, 0), provider: first.address, attempt: 0 });

    const second = await connectProvider({ resources: { cpus }, pricing: EXPENSIVE });
    // The first comes back without the job (it restarted), now too small to take it again: requeued, offered to the second.
    const small = { cpus: 0.001, memory_mb: 32_768, disk_free_mb: 100_000, gpus: [] };
    first.send({ v: HUB_PROTOCOL_VERSION, type: "advertise", resources: small, pricing: { gpu_second_wei: "1000", ...EXPENSIVE }, running: [] });
    const again = await second.next("job.offer", 15_000);
    expect(again.job_id).toBe(job.id);
    expect(again.checkpoint).toEqual(saved);
    await second.accept(again);

    const model = files.find((file) => file.path === "model.pt")!;
    const read = await signedRead(second, job.id, model.sha256);
    expect(read.status).toBe(200);
    expect(new TextDecoder().decode(await read.arrayBuffer())).toBe("weights after epoch 7");
    expect((await signedRead(first, job.id, model.sha256)).status).toBe(403);
    expect((await signedRead(second, job.id, "0".repeat(64))).status).toBe(404);

    // The first's late report is not kept: the job is the second's now. The second's own is, for its attempt.
    first.send({ v: HUB_PROTOCOL_VERSION, type: "job.checkpoint", job_id: job.id, files });
    expect((await first.next("error")).message).toMatch(/not a job of yours running here/);
    second.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: job.id, phase: "running" });
    const later = await saveCheckpoint(second, job.id, { "model.pt": "weights after epoch 9" });
    const resaved = await eventually(async () => {
      const current = (await jobOf(key, job.id)).checkpoint;
      return current?.attempt === 1 && current;
    }, { what: "the second attempt's checkpoint kept" });
    // It names the one its attempt resumed from, whose files stay in R2 (and readable) for a mediator.
    const { resumed_from: resumedFrom, ...own } = resaved;
    expect(own).toMatchObject({ files: later, provider: second.address });
    const { resumed_from: _none, ...firstSet } = saved;
    expect(resumedFrom).toEqual(firstSet);
    const stored = async (file: CheckpointFiles[number]) => (await env.OUTPUTS.head(outputObjectKey(job.id, `checkpoint/${file.path}`, file.sha256))) !== null;
    expect(await Promise.all([...files, ...later].map(stored))).toEqual([true, true, true]);
    expect((await signedRead(second, job.id, model.sha256)).status).toBe(200);

    // A later save of the same attempt lets go of the set before it, never of the one the attempt resumed from.
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    const latest = await saveCheckpoint(second, job.id, { "model.pt": "weights after epoch 11" });
    const third = await eventually(async () => {
      const current = (await jobOf(key, job.id)).checkpoint;
      return current?.files[0]?.sha256 === latest[0]!.sha256 && current;
    }, { what: "the third checkpoint kept" });
    expect(third.resumed_from).toEqual(firstSet);
    expect(await Promise.all([...files, ...later, ...latest].map(stored))).toEqual([true, true, false, true]);

    // The job ends on the second; a mediator drawn for its challenge re-runs it from where the second started.
    await finishWithOutputs(second, again, { "model.pt": new TextEncoder().encode("weights after epoch 12") });
    const mediator = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    expect(await hubOf(env, getConfig(env), mediator.address).mediate(mediator.address, job.id, again.chain_job_id)).toBe(true);
    expect((await mediator.next("job.mediate")).checkpoint).toEqual(firstSet);
    await first.close();
    await second.close();
    await mediator.close();
  }, 30_000);

  it("is refused when a file was not uploaded, when it comes too soon after the last, from a job that asked for none, and from another provider", async () => {
    const { key, provider, job } = await checkpointingJob();
    const missing = [{ path: "model.pt", size: 5, sha256: "a".repeat(64) }];
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.checkpoint", job_id: job.id, files: missing });
    expect((await provider.next("error")).message).toMatch(/model\.pt was not uploaded/);

    const first = await saveCheckpoint(provider, job.id, { "model.pt": "one" });
    await eventually(async () => (await jobOf(key, job.id)).checkpoint !== null, { what: "the first checkpoint kept" });
    await saveCheckpoint(provider, job.id, { "model.pt": "two" });
    expect((await provider.next("error")).message).toMatch(/save at most once every 10 s/);
    expect((await jobOf(key, job.id)).checkpoint!.files).toEqual(first);

    const stranger = await connectProvider({});
    stranger.send({ v: HUB_PROTOCOL_VERSION, type: "job.checkpoint", job_id: job.id, files: first });
    expect((await stranger.next("error")).message).toMatch(/not a job of yours running here/);
    expect((await post(`/v1/jobs/${job.id}/cancel`, {}, { key })).status).toBe(200);

    const plain = await checkpointingJob({});
    await saveCheckpoint(plain.provider, plain.job.id, { "model.pt": "x" });
    expect((await plain.provider.next("error")).message).toMatch(/its spec asks for no checkpoints/);
    expect((await jobOf(plain.key, plain.job.id)).checkpoint).toBeNull();
    expect((await post(`/v1/jobs/${plain.job.id}/cancel`, {}, { key: plain.key })).status).toBe(200);
    await provider.close();
    await stranger.close();
    await plain.provider.close();
  });

  it("flooded with a provider's bogus reports, refuses each, keeps nothing, and then keeps its honest one", async () => {
    const { key, provider, job } = await checkpointingJob();
    const bogus = [{ path: "model.pt", size: 5, sha256: "b".repeat(64) }];
    for (let i = 0; i < 50; i++) provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.checkpoint", job_id: job.id, files: bogus });
    for (let i = 0; i < 50; i++) expect((await provider.next("error")).message).toMatch(/model\.pt was not uploaded/);
    expect((await jobOf(key, job.id)).checkpoint).toBeNull();
    // The refusals left nothing behind that stands in the way of a real save (no interval counted from them).
    const files = await saveCheckpoint(provider, job.id, { "model.pt": "weights" });
    const kept = await eventually(async () => (await jobOf(key, job.id)).checkpoint ?? false, { what: "the honest checkpoint kept" });
    expect(kept.files).toEqual(files);
    expect((await post(`/v1/jobs/${job.id}/cancel`, {}, { key })).status).toBe(200);
    await provider.close();
  });

  it("is asked for with an interval the API bounds", async () => {
    const { key } = await signIn();
    const response = await post("/v1/jobs", { ...specFor(1), checkpoint: { interval_s: 5 } }, { key });
    expect(response.status).toBe(422);
    expect(JSON.stringify(await response.json())).toMatch(/checkpoint\.interval_s/);
  });
});
