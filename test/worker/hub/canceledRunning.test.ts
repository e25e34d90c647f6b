// A job canceled while it runs: its provider is told to stop it, and the room it
// held is offered again only once the provider says it has stopped (its result), or
// after the grace if it never does. Offering it sooner would be declined ("not enough
// free CPUs"), and a decline keeps that provider from the job for good: with a sweep
// stopping jobs early on a small network, the jobs behind them failed their match.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { hubOf } from "../../../worker/bindings/objects.ts";
import { getConfig } from "../../../worker/config/config.ts";
import type { ProviderHub } from "../../../worker/objects/ProviderHub.ts";
import { eventually } from "../../helpers/eventually.ts";
import { ownProvider, specFor } from "../assignedJob.ts";
import { call, post, signIn } from "../client.ts";
import { jobOf } from "../jobReads.ts";

async function twoJobsForOneSlot() {
  const { key } = await signIn();
  const { provider, cpus } = await ownProvider();
  const create = async () => {
    const response = await post("/v1/jobs", specFor(cpus), { key });
    expect(response.status).toBe(201);
    return (await response.json()) as Job;
  };
  const running = await create();
  const offer = await provider.next("job.offer");
  expect(offer.job_id).toBe(running.id);
  await provider.accept(offer);
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: running.id, phase: "running" });
  await eventually(async () => expect((await jobOf(key, running.id)).status).toBe("processing"));
  // Waits: the provider has room for one.
  const waiting = await create();
  expect(await provider.receives("job.offer", 300)).toBe(false);
  const canceled = await call(`/v1/jobs/${running.id}/cancel`, { method: "POST", key });
  expect(canceled.status).toBe(200);
  expect(await provider.next("job.cancel")).toMatchObject({ job_id: running.id });
  return { key, provider, running, waiting };
}

describe("a job canceled while it runs", () => {
  it("holds its provider's room until the provider's result says the container stopped, then offers it to the next job", async () => {
    const { key, provider, running, waiting } = await twoJobsForOneSlot();
    // Still stopping: nothing is offered into room the provider has not freed yet.
    expect(await provider.receives("job.offer", 500)).toBe(false);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: running.id, data: "stopping\n" });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: running.id, outcome: "canceled", exit_code: 137, error: null, manifest: null, amount_wei: "0", signature: null });
    expect(await provider.next("job.result.ack")).toMatchObject({ job_id: running.id });
    expect((await provider.next("job.offer", 10_000)).job_id).toBe(waiting.id);
    expect((await jobOf(key, running.id)).status).toBe("canceled");
    // Not left for a later test's bigger host.
    await call(`/v1/jobs/${waiting.id}/cancel`, { method: "POST", key });
    await provider.close();
  });

  it("frees the room after the grace when the provider never says it stopped", async () => {
    const { key, provider, waiting } = await twoJobsForOneSlot();
    expect(await provider.receives("job.offer", 300)).toBe(false);
    // The grace, passed: the hub's next alarm finds the stop overdue.
    await runInDurableObject(hubOf(env, getConfig(env), provider.address), async (hub: ProviderHub, state) => {
      state.storage.sql.exec("UPDATE reservations SET offer_expires_at = 0 WHERE state = 'stopping'");
      await hub.alarm();
    });
    expect((await provider.next("job.offer", 10_000)).job_id).toBe(waiting.id);
    await call(`/v1/jobs/${waiting.id}/cancel`, { method: "POST", key });
    await provider.close();
  });
});
