// A provider that turns an offer down for now (busy, or gone mid-offer and back)
// is offered nothing for a while, then may be asked again; one that turns a job
// down for good is never offered that job again. Before,
// every decline kept that provider from the job for good, so a provider with its
// room still in use, or a daemon restarted while an offer was out, left a job to
// fail its match timeout beside a provider that could run it.
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { post, signIn, validJob } from "../client.ts";
import { connectProvider, gpu } from "../providerSocket.ts";

/** The tests' offer timeout (vitest.config.mts): the first hold-off lasts as long. */
const OFFER_TIMEOUT_MS = 1_500;

/** A provider alone with its GPU model (no other test's jobs meet it), and a job for it. */
async function loneProviderAndJob(gpuModel: string) {
  const { key } = await signIn();
  const name = `${gpuModel} ${crypto.randomUUID().slice(0, 8)}`;
  const resources = { gpus: [gpu(0, name, 24_576)] };
  const provider = await connectProvider({ resources });
  const response = await post("/v1/jobs", { ...validJob(), resources: { gpus: 1, gpu_models: [name], cpus: 1, memory_mb: 1024 } }, { key });
  expect(response.status).toBe(201);
  return { provider, resources, job: (await response.json()) as Job };
}

describe("declined offers", () => {
  it("offers a job again to a provider that declined it as busy, after a while that grows each time", async () => {
    const { provider, job } = await loneProviderAndJob("busy A10");
    const decline = () => provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: job.id, reason: "not enough free CPUs", busy: true });
    expect((await provider.next("job.offer")).job_id).toBe(job.id);
    decline();
    // Not straight back: the provider said its room is in use.
    expect(await provider.receives("job.offer", OFFER_TIMEOUT_MS / 3)).toBe(false);
    expect((await provider.next("job.offer", 10_000)).job_id).toBe(job.id);
    decline();
    // Twice as long the second time: still held off where the first hold-off would have ended.
    expect(await provider.receives("job.offer", OFFER_TIMEOUT_MS * 1.2)).toBe(false);
    const third = await provider.next("job.offer", 10_000);
    expect(third.job_id).toBe(job.id);
    await provider.accept(third);
    await provider.close();
  });

  it("never offers a job again to a provider that declined it for good", async () => {
    const { provider, job } = await loneProviderAndJob("picky A10");
    expect((await provider.next("job.offer")).job_id).toBe(job.id);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: job.id, reason: "GPU GPU-x is not on this host" });
    // Past two hold-offs: a busy decline would have been asked again by now.
    expect(await provider.receives("job.offer", OFFER_TIMEOUT_MS * 3)).toBe(false);
    await provider.close();
  });

  it("lets a provider that says busy to every offer keep no job from an honest one beside it, nor be offered one job after another", async () => {
    const { key } = await signIn();
    const name = `liar A10 ${crypto.randomUUID().slice(0, 8)}`;
    const gpus = () => Array.from({ length: 4 }, (_, i) => gpu(i, name, 24_576));
    // Cheaper, so offered first every time it is not held off.
    const liar = await connectProvider({ resources: { gpus: gpus() }, pricing: { gpu_second_wei: "1" } });
    const honest = await connectProvider({ resources: { gpus: gpus() }, pricing: { gpu_second_wei: "2" } });
    let lies = 0;
    liar.ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; job_id?: string };
      if (message.type !== "job.offer") return;
      lies++;
      liar.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: message.job_id, reason: "GPU busy", busy: true });
    });
    const create = async () => ((await (await post("/v1/jobs", { ...validJob(), resources: { gpus: 1, gpu_models: [name], cpus: 1, memory_mb: 1024 } }, { key })).json()) as Job).id;
    const runOnHonest = async () => {
      const offer = await honest.next("job.offer", 10_000);
      await honest.accept(offer);
      return offer.job_id;
    };
    const first = await create();
    expect(await runOnHonest()).toBe(first);
    expect(lies).toBe(1);
    // Held off as a provider, not job by job: the jobs that come while it is go straight to the honest one.
    const more = [await create(), await create(), await create()];
    const offered = [await runOnHonest(), await runOnHonest(), await runOnHonest()];
    expect(offered.sort()).toEqual(more.sort());
    expect(lies).toBe(1);
    await liar.close();
    await honest.close();
  });

  it("offers a job again to a provider whose connection went while the offer was out, once it is back", async () => {
    const { provider, resources, job } = await loneProviderAndJob("restarting A10");
    expect((await provider.next("job.offer")).job_id).toBe(job.id);
    // Gone without an answer, as a daemon killed mid-offer; the same key signs in again.
    await provider.close();
    const again = await connectProvider({ resources, account: provider.account });
    const offer = await again.next("job.offer", 10_000);
    expect(offer.job_id).toBe(job.id);
    await again.accept(offer);
    await again.close();
  });
});
