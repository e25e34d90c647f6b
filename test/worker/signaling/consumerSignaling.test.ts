// A pipeline's next job fetching its inputs peer to peer from the provider that
// produced them, through the real Worker, hub and rendezvous in workerd: the next
// job's provider signals in the source job's rendezvous as that job's consumer,
// only for a job of its own that it runs and whose inputs name the source, and
// talks there with the source's provider only.
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import { consumerRole, SIGNALING_PROTOCOL_VERSION, type ServerSignal } from "../../../protocol/signaling.ts";
import { EXPENSIVE, ownProvider, runningJob, specFor, uniqueCpus } from "../assignedJob.ts";
import { post, signIn } from "../client.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";
import { joinAsCreator } from "./creatorSocket.ts";
import { succeed } from "../sourceJobs.ts";

const v = SIGNALING_PROTOCOL_VERSION;
const offer = (dst: string) => ({ v, type: "offer", dst, payload: { type: "offer", sdp: "v=0 consumer-offer" } });
const answer = (dst: string) => ({ v, type: "answer", dst, payload: { type: "answer", sdp: "v=0 source-answer" } });

/** The next signal of `type` on a provider's hub socket, with the job it is for. */
async function signalOn(provider: TestProvider, type: ServerSignal["type"]) {
  for (;;) {
    const delivered = await provider.next("signal");
    if (delivered.signal.type === type) return delivered;
  }
}

const signal = (provider: TestProvider, jobId: string, message: unknown, forJob?: string) =>
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "signal", job_id: jobId, signal: message, ...(forJob ? { for_job: forJob } : {}) });

/** A creator's succeeded source job (its provider still connected) and a running job of theirs that takes its model.pt. */
async function pipeline() {
  const { key } = await signIn();
  const source = await runningJob(key);
  const model = (await succeed(source, { "model.pt": "weights", "metrics.json": "{}" })).find((file) => file.path === "model.pt")!;
  const { provider: consumer, cpus } = await ownProvider();
  const response = await post("/v1/jobs", { ...specFor(cpus), input_files: [{ path: "in/model.pt", size: model.size, sha256: model.sha256, from: { job: source.job.id, output: "model.pt" } }] }, { key });
  const next = (await response.json()) as { id: string };
  expect(response.status, JSON.stringify(next)).toBe(201);
  const offered = await consumer.next("job.offer");
  expect(offered.job_id).toBe(next.id);
  await consumer.accept(offered);
  return {
    key,
    source: { provider: source.provider, jobId: source.job.id },
    consumer,
    nextJob: next.id,
    /** Ends the next job (a later test's bigger provider would be offered it otherwise) and closes both providers. */
    async end() {
      await post(`/v1/jobs/${next.id}/cancel`, {}, { key });
      await Promise.all([consumer.close(), source.provider.close()]);
    },
  };
}

describe("a pipeline's next job in its source job's rendezvous", () => {
  it("relays between the next job's provider, as the source's consumer, and the source's provider, stamping both and the outputs it may take", async () => {
    const { source, consumer, nextJob, end } = await pipeline();
    const role = consumerRole(nextJob)!;
    // It claims more of the source's outputs than its job takes: the hub stamps what the job takes, and only that.
    signal(consumer, source.jobId, { ...offer("provider"), outputs: ["metrics.json", "model.pt"] }, nextJob);
    const offered = await signalOn(source.provider, "offer");
    expect(offered).toMatchObject({ job_id: source.jobId, signal: { src: role, dst: "provider", payload: { sdp: "v=0 consumer-offer" } } });
    expect(offered.signal).toMatchObject({ outputs: ["model.pt"] });

    signal(source.provider, source.jobId, answer(role));
    const answered = await signalOn(consumer, "answer");
    expect(answered).toMatchObject({ job_id: source.jobId, signal: { src: "provider", dst: role, payload: { sdp: "v=0 source-answer" } } });
    await end();
  });

  it("talks with the source's provider only: a consumer's signal for the creator or a mediator comes back as an error, and the creator's for it", async () => {
    const { key, source, consumer, nextJob, end } = await pipeline();
    for (const dst of ["creator", "mediator"]) {
      signal(consumer, source.jobId, offer(dst), nextJob);
      expect((await signalOn(consumer, "error")).signal).toMatchObject({ code: "unknown_peer", dst, message: expect.stringContaining('signal "provider"') });
    }
    const creator = (await joinAsCreator(source.jobId, { key })).creator!;
    creator.send(answer(consumerRole(nextJob)!));
    expect(await creator.next("error")).toMatchObject({ code: "unknown_peer", dst: consumerRole(nextJob) });
    expect(await consumer.receives("signal", 300)).toBe(false);
    creator.ws.close(1000);
    await end();
  });

  it("takes the source's provider turning a consumer away (nothing kept for it) as a reply to that consumer alone, not as the provider leaving", async () => {
    const { key, source, consumer, nextJob, end } = await pipeline();
    const creator = (await joinAsCreator(source.jobId, { key })).creator!;
    signal(consumer, source.jobId, offer("provider"), nextJob);
    await signalOn(source.provider, "offer");
    signal(source.provider, source.jobId, { v, type: "leave", dst: consumerRole(nextJob), payload: { reason: "nothing kept" } });
    expect((await signalOn(consumer, "leave")).signal).toMatchObject({ src: "provider", payload: { reason: "nothing kept" } });
    // The creator hears the provider arrive (its first word), never that it left.
    expect(await creator.next("peer")).toMatchObject({ peer: "provider", present: true });
    await expect(creator.next("peer", 500)).rejects.toThrow(/no peer within/);
    creator.ws.close(1000);
    await end();
  });

  it("is refused to a provider that does not run the next job, for a job whose inputs do not name the source, and once the next job has ended", async () => {
    const { key, source, consumer, nextJob, end } = await pipeline();
    const refused = async (provider: TestProvider, jobId: string, forJob: string | undefined) => {
      signal(provider, jobId, offer("provider"), forJob);
      expect(await provider.next("error"), `${jobId} for ${forJob}`).toMatchObject({ code: "not_found" });
      // As a consumer, its transfer hears it too, as its offer coming back: it need not wait out its connect timeout.
      if (forJob) expect((await signalOn(provider, "error")).signal).toMatchObject({ code: "unknown_peer", dst: "provider", ref_type: "offer" });
    };
    // Another provider naming the next job.
    const stranger = await connectProvider({ resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });
    await refused(stranger, source.jobId, nextJob);
    // The next job's provider, without naming its job, or for a source its job does not take from.
    await refused(consumer, source.jobId, undefined);
    const unrelated = await runningJob(key);
    await refused(consumer, unrelated.job.id, nextJob);
    // The source's provider reached nobody meanwhile.
    expect(await source.provider.receives("signal", 300)).toBe(false);
    // Ended (canceled): its provider fetches nothing more for it.
    expect((await post(`/v1/jobs/${nextJob}/cancel`, {}, { key })).status).toBe(200);
    await refused(consumer, source.jobId, nextJob);
    await post(`/v1/jobs/${unrelated.job.id}/cancel`, {}, { key });
    await Promise.all([stranger.close(), unrelated.provider.close(), end()]);
  });
});
