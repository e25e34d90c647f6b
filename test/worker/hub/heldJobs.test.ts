// The hub moves a job it holds on from its own copy of the job (hub/heldJobs.ts)
// rather than reading it again: these change the job in D1 behind the hub's back,
// so its copy is stale, and check that a late word from the provider still loses.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { assignedJob } from "../assignedJob.ts";
import { call } from "../client.ts";
import { eventually } from "../../helpers/eventually.ts";
import { inlineResult, signedResult } from "../providerOutputs.ts";

const jobOf = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

/** A job its provider has started, as the hub's copy has it ("processing"). */
async function runningJob() {
  const assigned = await assignedJob();
  const { key, provider, offer } = assigned;
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
  await eventually(async () => expect((await jobOf(key, offer.job_id)).status).toBe("processing"));
  return assigned;
}

describe("the hub's copy of a job it holds", () => {
  it("loses to a status D1 has and the hub never heard: a result for a job canceled meanwhile is refused, and the job stays canceled", async () => {
    const { key, provider, offer } = await runningJob();
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
    const { key, provider, offer } = await runningJob();
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
});
