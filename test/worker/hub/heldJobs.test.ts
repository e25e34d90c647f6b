// The hub moves a job it holds on from its own copy of the job (hub/heldJobs.ts)
// rather than reading it again: these change the job in D1 behind the hub's back,
// so its copy is stale, and check that a late word from the provider still loses.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { createDb } from "../../../worker/db/client.ts";
import { transitionJob } from "../../../worker/jobs/transitions.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { eq } from "drizzle-orm";
import { assignedJob, ownProvider, processingJob } from "../assignedJob.ts";
import { jobOf } from "../jobReads.ts";
import { inlineResult, signedResult } from "../providerOutputs.ts";


describe("the hub's copy of a job it holds", () => {
  it("loses to a status D1 has and the hub never heard: a result for a job canceled meanwhile is refused, and the job stays canceled", async () => {
    const { key, provider, offer } = await processingJob();
    await env.DB.prepare("UPDATE jobs SET status = 'canceled', completed_at = ? WHERE id = ?").bind(Date.now(), offer.job_id).run();

    provider.send(await signedResult(provider, offer, []));
    const ack = await provider.next("job.result.ack");
    expect(ack).toMatchObject({ job_id: offer.job_id, accepted: false });
    expect(ack.error).toContain("already canceled");
    const job = await jobOf(key, offer.job_id);
    expect(job.status).toBe("canceled");
    expect(job.output).toBeNull();
    await provider.close();
  });

  it("loses to a provider D1 has and the hub never heard: the first provider's result does not end the job another now runs", async () => {
    const { key, provider, offer } = await processingJob();
    const other = "0x000000000000000000000000000000000000dEaD";
    await env.DB.prepare("UPDATE jobs SET provider = ? WHERE id = ?").bind(other.toLowerCase(), offer.job_id).run();

    provider.send(await inlineResult(provider, offer, { "model.pt": new TextEncoder().encode("weights") }));
    const ack = await provider.next("job.result.ack");
    expect(ack).toMatchObject({ job_id: offer.job_id, accepted: false });
    expect(ack.error).toContain("no longer assigned to you");
    const job = await jobOf(key, offer.job_id);
    expect(job.status).toBe("processing");
    expect(job.output).toBeNull();
    await provider.close();
  });

  it("behind D1 is read again, not believed: a result whose running the copy missed still succeeds the job", async () => {
    const { key, provider, offer } = await assignedJob();
    // The running status landed in D1 while the hub's copy still says "starting" (as a write that
    // landed and then failed to answer would leave it).
    await env.DB.prepare("UPDATE jobs SET status = 'processing', started_at = ? WHERE id = ?").bind(Date.now(), offer.job_id).run();

    provider.send(await signedResult(provider, offer, []));
    expect(await provider.next("job.result.ack")).toMatchObject({ job_id: offer.job_id, accepted: true });
    expect((await jobOf(key, offer.job_id)).status).toBe("succeeded");
    await provider.close();
  });

  it("never refuses a transition on its own word: one that D1 allows goes through from a copy that would not", async () => {
    const { provider, offer } = await assignedJob();
    const [row] = await createDb(env.DB).select().from(jobs).where(eq(jobs.id, offer.job_id));
    // A copy from the offer (queued, no provider), though D1 has the job starting on this provider.
    const stale = { ...row!, status: "queued", provider: null };
    const moved = await transitionJob(jobContextFor(env), offer.job_id, "processing", { statusDetail: null }, "hub", { provider: provider.address }, stale);
    expect(moved.status).toBe("processing");
    await provider.close();
  });

  it("is not touched by another provider's word about the job: its running and result are refused, and the job's own provider finishes it", async () => {
    const { key, provider, offer } = await processingJob();
    const { provider: intruder } = await ownProvider();
    intruder.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
    intruder.send(await signedResult(intruder, offer, []));
    const refused = await intruder.next("job.result.ack");
    expect(refused).toMatchObject({ job_id: offer.job_id, accepted: false });
    expect((await jobOf(key, offer.job_id)).status).toBe("processing");

    provider.send(await signedResult(provider, offer, []));
    expect(await provider.next("job.result.ack")).toMatchObject({ job_id: offer.job_id, accepted: true });
    const job = await jobOf(key, offer.job_id);
    expect(job.status).toBe("succeeded");
    expect(job.provider).toBe(provider.address);
    await Promise.all([intruder.close(), provider.close()]);
  });
});
