// What a provider that does not hold a job cannot do to it through the hub, even when
// the hub's copy of the job is stale (hub/heldJobs.ts): store outputs under it (hub/
// results.ts, resultCheck.ts), write into its log, or use up its log budget
// (objects/ProviderHub.ts relayLog). Each test failed before its fix (2026-12-07).
import { env, runInDurableObject } from "cloudflare:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { hubOf, jobRoomOf } from "../../../worker/bindings/objects.ts";
import { shardOf } from "../../../worker/bindings/sharding.ts";
import { getConfig } from "../../../worker/config/config.ts";
import { eventually } from "../../helpers/eventually.ts";
import { EXPENSIVE, ownProvider, processingJob, specFor, uniqueCpus } from "../assignedJob.ts";
import { post, signIn } from "../client.ts";
import { jobOf, roomCount, storedOutputs } from "../jobReads.ts";
import { inlineResult } from "../providerOutputs.ts";
import { connectProvider } from "../providerSocket.ts";
import { MAX_PENDING_LOG_CHARS } from "../../../worker/hub/logIntake.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a stale held copy gives a provider that is not the job's no write into its outputs", () => {
  // resultCheck.ts stores a result's inline outputs once the result is "signed by the assigned provider"; with the
  // held copy, "assigned" is the copy's word, and the compare-and-set that would refuse it comes only after the store.
  it("stores nothing a provider sends inline for a job D1 has given to another provider, though the hub's copy still names it", async () => {
    const { key, provider, offer } = await processingJob();
    const other = "0x000000000000000000000000000000000000dead";
    await env.DB.prepare("UPDATE jobs SET provider = ? WHERE id = ?").bind(other, offer.job_id).run();

    provider.send(await inlineResult(provider, offer, { "model.pt": new TextEncoder().encode("planted weights") }));
    const ack = await provider.next("job.result.ack");
    expect(ack).toMatchObject({ job_id: offer.job_id, accepted: false });
    expect((await jobOf(key, offer.job_id)).status).toBe("processing");
    // The upload route refuses this provider (outputUploads.ts: "only the provider assigned to a job may upload its outputs");
    // nor may the result's inline path write for it.
    expect(await storedOutputs(offer.job_id)).toEqual([]);
    await provider.close();
  });

  it("stores nothing a provider sends inline for a job its creator canceled, though the hub's copy still says processing", async () => {
    const { key, provider, offer } = await processingJob();
    await env.DB.prepare("UPDATE jobs SET status = 'canceled', completed_at = ? WHERE id = ?").bind(Date.now(), offer.job_id).run();

    provider.send(await inlineResult(provider, offer, { "model.pt": new TextEncoder().encode("late weights") }));
    const ack = await provider.next("job.result.ack");
    expect(ack).toMatchObject({ job_id: offer.job_id, accepted: false });
    expect((await jobOf(key, offer.job_id)).status).toBe("canceled");
    expect(await storedOutputs(offer.job_id)).toEqual([]);
    await provider.close();
  });
});

describe("job.log from a provider that does not run the job", () => {
  // results.ts onLog: `reservation(jobId)?.address !== address` lets through a provider whose reservation is only "offered".
  it("keeps a merely offered (never accepted) provider's log lines out of the job's log", async () => {
    const { key } = await signIn();
    const { provider, cpus } = await ownProvider();
    const created = await post("/v1/jobs", specFor(cpus), { key });
    expect(created.status).toBe(201);
    const job = (await created.json()) as Job;
    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(job.id);

    try {
    // Never accepted: a log line, then a decline (both handled in the job's order, so the line is relayed or not by the time the decline is).
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: job.id, data: "INJECTED-BY-AN-OFFERED-PROVIDER\n" });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.decline", job_id: job.id });
    const hub = hubOf(env, getConfig(env), provider.address);
    await eventually(
      () => runInDurableObject(hub, (_hub, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM reservations WHERE job_id = ?", job.id).one().n === 0),
      { what: "the decline handled" },
    );

    expect((await jobOf(key, job.id)).status).toBe("queued");
    expect(await roomCount(job.id, "INJECTED-BY-AN-OFFERED-PROVIDER")).toBe(0);
    } finally {
      // Left queued, it would be offered to the next test's (bigger) provider.
      await post(`/v1/jobs/${job.id}/cancel`, {}, { key });
      await provider.close();
    }
  });
});

describe("another provider's log flood for a job", () => {
  it("relays the job's own provider's log, or at least notes a drop, while a neighbour on its hub floods job.log for that job", async () => {
    const { key, provider, offer } = await processingJob();
    const jobId = offer.job_id;
    const shards = getConfig(env).hubShards;
    // A hostile provider hashed to the same hub shard.
    let account = privateKeyToAccount(generatePrivateKey());
    while (shardOf(account.address, shards) !== shardOf(provider.address, shards)) account = privateKeyToAccount(generatePrivateKey());
    const neighbour = await connectProvider({ account, resources: { cpus: uniqueCpus() }, pricing: EXPENSIVE });

    // The job's room is slow for a moment (it is another object, maybe far away): the job's log queue in the hub fills.
    const slowRoom = runInDurableObject(jobRoomOf(env, jobId), (_room, state) => state.blockConcurrencyWhile(() => sleep(4_000)));
    await sleep(300);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: "OWN-LINE-1\n" });
    await sleep(300);
    // The neighbour's pieces, admitted under the job's budget up to its bound, though the hub will drop each one unrelayed.
    const filler = "n".repeat(1024);
    for (let sent = 0; sent < MAX_PENDING_LOG_CHARS + 8 * 1024; sent += filler.length) {
      neighbour.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: filler });
    }
    await sleep(1_000);
    // An honest daemon's chunk (well within its 16 KiB).
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: `OWN-LINE-2 ${"o".repeat(4000)}\n` });
    await slowRoom;
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data: "OWN-LINE-3\n" });
    await eventually(async () => (await roomCount(jobId, "OWN-LINE-3")) === 1, { what: "the line after the flood in the room" });

    const second = await roomCount(jobId, "OWN-LINE-2");
    const dropNote = await roomCount(jobId, "the hub dropped");
    const neighbours = await roomCount(jobId, filler);
    expect(neighbours).toBe(0);
    // What the job's own provider sent gets through, or the log says that something was dropped: never a silent gap.
    expect({ second, dropNote }).not.toEqual({ second: 0, dropNote: 0 });
    // And a neighbour's messages never cost the job's own provider its output.
    expect(second).toBe(1);
    expect((await jobOf(key, jobId)).status).toBe("processing");
    await Promise.all([neighbour.close(), provider.close()]);
  });
});
