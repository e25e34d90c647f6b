// A provider that a hub shard has lost sight of (it now connects to another shard, as
// after a change of HUB_SHARDS) while that shard still has its record: the shard that
// counts it lost settles only the jobs it holds, never one another hub runs right now
// (it settled every job D1 gave the address before 2026-12-07).
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { hubName, shardOf } from "../../../worker/bindings/sharding.ts";
import { getConfig } from "../../../worker/config/config.ts";
import { eventually } from "../../helpers/eventually.ts";
import { assignedJob } from "../assignedJob.ts";
import { call } from "../client.ts";

const jobOf = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

describe("a hub shard that no longer holds a provider", () => {
  it("does not requeue a job the provider is running on the shard it is connected to now", async () => {
    const { key, provider, offer } = await assignedJob();
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
    await eventually(async () => (await jobOf(key, offer.job_id)).status === "processing");

    const config = getConfig(env);
    // Another shard that had this provider before (its socket there gone, its record kept), and holds none of its jobs.
    const oldShard = (shardOf(provider.address, config.hubShards) + 1) % config.hubShards;
    const oldHub = env.HUB.get(env.HUB.idFromName(hubName(oldShard)));
    const longAgo = Date.now() - config.matching.providerGraceMs - 1_000;
    await runInDurableObject(oldHub, async (_hub, state) => {
      state.storage.sql.exec(
        `INSERT INTO providers (address, reputation, connected, disconnected_at) VALUES (?, 0, 0, ?)
         ON CONFLICT(address) DO UPDATE SET connected = 0, disconnected_at = excluded.disconnected_at`,
        provider.address,
        longAgo,
      );
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM reservations WHERE address = ?", provider.address).one().n).toBe(0);
      await state.storage.setAlarm(Date.now());
    });
    await runDurableObjectAlarm(oldHub);

    const job = await jobOf(key, offer.job_id);
    expect({ status: job.status, provider: job.provider }).toEqual({ status: "processing", provider: provider.address });
    await provider.close();
  });
});
