// How long the relay keeps a job's inputs, in workerd with its real R2 and D1:
// until the job has ended and its settlement is final, then the sweeper deletes
// them (every page of them) and marks the job; uploads for such a job are refused.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { inputChunkKey, inputManifestKey, inputsPrefix } from "../../../protocol/uploads.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { INPUTS_GRACE_MS, purgeRelayInputs } from "../../../worker/data/relayRetention.ts";
import { call, signIn } from "../client.ts";
import { db, insertJob, unmatchableSpec } from "../chain/jobRows.ts";

const specWithInputs = { ...unmatchableSpec, input_files: [{ path: "a.bin", size: 3, sha256: "0".repeat(64) }] };

async function storeInputs(jobId: string, chunks: number): Promise<void> {
  await env.OUTPUTS.put(inputManifestKey(jobId), "{}");
  for (let i = 0; i < chunks; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, chunks - i) }, (_, j) => env.OUTPUTS.put(inputChunkKey(jobId, (i + j).toString(16).padStart(64, "0")), "x")));
  }
}

async function keptObjects(jobId: string): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await env.OUTPUTS.list({ prefix: inputsPrefix(jobId), ...(cursor ? { cursor } : {}) });
    count += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return count;
}

/** Sweeps until nothing is due: other files' jobs share this database, and a sweep takes 50. */
async function sweepAll(now: number): Promise<void> {
  for (let i = 0; i < 100; i++) if ((await purgeRelayInputs(db, env.OUTPUTS, now)).jobs === 0) return;
  throw new Error("the relay purge never ran out of due jobs");
}

describe("behavior: relay inputs retention", () => {
  it("deletes the inputs of ended jobs whose settlement is final, past the grace, and keeps the rest", async () => {
    const now = Date.now();
    const ended = now - INPUTS_GRACE_MS - 60_000;
    const unpaid = await insertJob("relay-unpaid", { spec: specWithInputs, status: "failed", settlement: "none", completedAt: ended });
    const settled = await insertJob("relay-settled", { spec: specWithInputs, status: "succeeded", settlement: "settled", completedAt: ended });
    const challenged = await insertJob("relay-challenged", { spec: specWithInputs, status: "succeeded", settlement: "challenged", completedAt: ended });
    const running = await insertJob("relay-running", { spec: specWithInputs, status: "processing", settlement: "none" });
    const justEnded = await insertJob("relay-just-ended", { spec: specWithInputs, status: "succeeded", settlement: "none", completedAt: now - 1000 });
    // More than one R2 list page (1000 keys).
    await storeInputs(unpaid.id, 1003);
    for (const job of [settled, challenged, running, justEnded]) await storeInputs(job.id, 2);

    await sweepAll(now);

    expect(await keptObjects(unpaid.id)).toBe(0);
    expect(await keptObjects(settled.id)).toBe(0);
    // A challenge may still draw a mediator; a running job's provider may still fetch; an upload may still be finishing.
    expect(await keptObjects(challenged.id)).toBe(3);
    expect(await keptObjects(running.id)).toBe(3);
    expect(await keptObjects(justEnded.id)).toBe(3);
    const [marked] = await db.select({ at: jobs.inputsPurgedAt }).from(jobs).where(eq(jobs.id, unpaid.id));
    expect(marked!.at).toBe(now);

    // Once its challenge is resolved, the next sweep takes it too.
    await db.update(jobs).set({ settlement: "settled" }).where(eq(jobs.id, challenged.id));
    await sweepAll(now);
    expect(await keptObjects(challenged.id)).toBe(0);
  });

  it("drops a job's sealed secrets in the same step, and keeps them while a challenge may still draw a mediator", async () => {
    const now = Date.now();
    const ended = now - INPUTS_GRACE_MS - 60_000;
    const sealed = "v1.c2VhbGVk.c2VhbGVk";
    const settled = await insertJob("secrets-settled", { status: "succeeded", settlement: "settled", completedAt: ended, sealedSecrets: sealed });
    const challenged = await insertJob("secrets-challenged", { status: "succeeded", settlement: "challenged", completedAt: ended, sealedSecrets: sealed });
    await sweepAll(now);
    const sealedOf = async (id: string) => (await db.select({ sealed: jobs.sealedSecrets }).from(jobs).where(eq(jobs.id, id)))[0]!.sealed;
    expect(await sealedOf(settled.id)).toBeNull();
    expect(await sealedOf(challenged.id)).toBe(sealed);
  });

  it("refuses an upload for a job that ended with a final settlement, saying why, and takes one for a running job", async () => {
    const { key, account } = await signIn();
    const address = account.address.toLowerCase();
    const ended = await insertJob("relay-refused", { account: address, spec: specWithInputs, status: "failed", settlement: "none", completedAt: Date.now() });
    const refused = await call(`/v1/jobs/${ended.id}/data/inputs`, { method: "PUT", body: "{}", key, headers: { "content-type": "application/json" } });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ detail: expect.stringMatching(/has ended \(failed\) and its settlement is final \(none\)/) });
    // Not refused as ended: the manifest itself is judged (and found wanting).
    const running = await insertJob("relay-open", { account: address, spec: specWithInputs, status: "processing", settlement: "none" });
    const judged = await call(`/v1/jobs/${running.id}/data/inputs`, { method: "PUT", body: "{}", key, headers: { "content-type": "application/json" } });
    expect(judged.status).toBe(422);
  });
});
