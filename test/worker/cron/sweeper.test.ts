// The sweeper's part in settlement: chain work a lost enqueue dropped is asked
// for again, from what D1 says each job still needs.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { relayerOf } from "../../../worker/bindings/objects.ts";
import { getConfig, type Config } from "../../../worker/config/config.ts";
import { chainEvents } from "../../../worker/db/schema.ts";
import { restoreChainWork } from "../../../worker/chain/lostWork.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { claimed, db, insertJob } from "../chain/jobRows.ts";

/** The test Worker has no chain; this config has one, with a relayer object of its own. */
function chainConfig(): Config {
  const base = getConfig(env);
  const relayerAddress = `0x${crypto.randomUUID().replaceAll("-", "").padEnd(40, "0")}`;
  return { ...base, chain: { ...base.chain, rpcUrl: "http://127.0.0.1:9/", marketAddress: "0x00000000000000000000000000000000000000aa", relayerAddress } };
}

async function intentsOf(config: Config): Promise<string[]> {
  return runInDurableObject(relayerOf(env, config), (_instance, state) =>
    state.storage.sql
      .exec("SELECT kind, job_id FROM intents ORDER BY id")
      .toArray()
      .map((row) => `${String(row.job_id)}:${String(row.kind)}`),
  );
}

describe("behavior: restoring chain work", () => {
  it("asks again for reservations never seen on chain, and for the result or release of finished jobs", async () => {
    const old = Date.now() - 10 * 60_000;
    const running = await insertJob("lost-reserve", { status: "processing", startedAt: Date.now(), createdAt: old });
    const reported = await insertJob("lost-result", { ...claimed(), settlement: "pending", createdAt: old, completedAt: old });
    const failed = await insertJob("lost-release", { status: "failed", settlement: "reserving", createdAt: old, completedAt: old });
    // Already where they should be, or too young to tell:
    const onChain = await insertJob("on-chain", { ...claimed(), settlement: "pending", createdAt: old, completedAt: old });
    await db.insert(chainEvents).values({ txHash: `0x${"01".repeat(32)}`, logIndex: 0, blockNumber: 1, blockHash: "0x", name: "ResultSubmitted", args: {}, chainJobId: onChain.chainJobId, processedAt: old });
    const fresh = await insertJob("fresh");
    const unpaid = await insertJob("unpaid", { authSignature: null, authDeadline: null, settlement: "none", createdAt: old });
    const settled = await insertJob("settled", { ...claimed(), settlement: "settled", createdAt: old, completedAt: old });

    const config = chainConfig();
    await restoreChainWork(jobContextFor(env, { db, config, baseUrl: "https://pond.test" }), Date.now());

    const ours = new Set([running.id, reported.id, failed.id, onChain.id, fresh.id, unpaid.id, settled.id]);
    const asked = (await intentsOf(config)).filter((entry) => ours.has(entry.split(":")[0]!));
    expect(asked.sort()).toEqual(
      [`${running.id}:reserve`, `${reported.id}:reserve`, `${reported.id}:result`, `${failed.id}:reserve`, `${failed.id}:release`].sort(),
    );

    // Asking twice changes nothing: the relayer keeps one intent per kind and job.
    await restoreChainWork(jobContextFor(env, { db, config, baseUrl: "https://pond.test" }), Date.now());
    expect((await intentsOf(config)).filter((entry) => ours.has(entry.split(":")[0]!))).toHaveLength(asked.length);
  });
});
