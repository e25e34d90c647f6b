// What the cron's sweep does when many jobs rightly wait for their sources: a job whose
// source ended unheard, and a ready job whose matchmaker lost it, are still reached
// (a page of 1,000 waiting jobs hid both before 2026-12-07).
// Rows are written straight into D1, in the states the API and the hub leave them (a
// waiting job is `queued` with resolved_input_files NULL, linked to its sources).
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { beforeAll, describe, expect, it } from "vitest";
import { unsettledFunding } from "../../../worker/chain/jobFunding.ts";
import { sweep } from "../../../worker/cron/sweeper.ts";
import { createDb } from "../../../worker/db/client.ts";
import { accounts, jobInputSources, jobs } from "../../../worker/db/schema.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
// Imported so this file keeps a runtime and storage of its own (vitest.config.mts): it sweeps every job there is.
import { specFor } from "../assignedJob.ts";
import { ORIGIN } from "../client.ts";

const db = createDb(env.DB);
const CREATOR = "0x00000000000000000000000000000000000000d7";
const MODEL = { path: "model.pt", size: 5, sha256: "a".repeat(64) };
/** More than any test host: never offered. */
const unmatchable = { ...specFor(256), resources: { gpus: 0, cpus: 256, memory_mb: 512 } };

function jobRow(id: string, columns: Partial<typeof jobs.$inferInsert> = {}): typeof jobs.$inferInsert {
  return { id, account: CREATOR, status: "queued", spec: unmatchable, ...unsettledFunding(id), webhookEventsFilter: [], createdAt: Date.now(), ...columns };
}

const from = (job: string, path: string) => ({ path, from: { job, output: "model.pt" } });

async function runBatches(items: BatchItem<"sqlite">[]): Promise<void> {
  for (let i = 0; i < items.length; i += 100) await db.batch(items.slice(i, i + 100) as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
}

const done = "job_0source0done";
const running = "job_0source0running";
const waiting = Array.from({ length: 1000 }, (_, i) => `job_1wait${String(i).padStart(4, "0")}`);
const ctx = jobContextFor(env, { baseUrl: ORIGIN });

beforeAll(async () => {
  await db.insert(accounts).values({ address: CREATOR, webhookSecretEnc: "x" }).onConflictDoNothing();
  await db.insert(jobs).values([
    jobRow(done, { status: "succeeded", completedAt: Date.now(), output: { files: [MODEL], result_hash: `0x${"ab".repeat(32)}` } }),
    // A long job (timeout_s may be up to 24 h) still under way: its dependents wait, rightly.
    jobRow(running, { status: "processing", provider: "0x00000000000000000000000000000000000000e1", startedAt: Date.now(), spec: { ...unmatchable, timeout_s: 86_400 } }),
  ]);
  // 1000 jobs that take one input from the finished job and one from the running one: they wait.
  await runBatches(
    waiting.flatMap((id) => [
      db.insert(jobs).values(jobRow(id, { spec: { ...unmatchable, input_files: [from(done, "a.pt"), from(running, "b.pt")] }, statusDetail: "waiting" })),
      db.insert(jobInputSources).values([
        { jobId: id, sourceJobId: done },
        { jobId: id, sourceJobId: running },
      ]),
    ]),
  );
});

const statusOf = async (id: string) => (await db.select({ status: jobs.status, error: jobs.error }).from(jobs).where(eq(jobs.id, id)))[0];

describe("the sweeper while 1000 jobs wait on a long-running source", () => {
  it("still resolves a job whose source ended unheard (it is not starved by jobs that rightly wait)", async () => {
    // A job whose source failed while no one heard (a crash between the write and its announcement).
    const lostSource = "job_2source0lost";
    const orphan = "job_zorphan";
    await db.insert(jobs).values(jobRow(lostSource, { status: "failed", error: "lost in a crash", completedAt: Date.now() }));
    await db.insert(jobs).values(jobRow(orphan, { spec: { ...unmatchable, input_files: [from(lostSource, "m.pt")] } }));
    await db.insert(jobInputSources).values({ jobId: orphan, sourceJobId: lostSource });
    // Several sweeps (minutes of cron): a starved job stays starved, sweep after sweep.
    for (let i = 0; i < 3; i++) await sweep(ctx);
    // The waiting ones still wait (their second source runs)...
    expect((await statusOf(waiting[0]!))?.status).toBe("queued");
    // ...the orphan must not.
    expect(await statusOf(orphan)).toEqual({ status: "failed", error: `its input m.pt comes from ${lostSource}, which failed: lost in a crash` });
  });

  it("still ends a ready job long past its match window (its matchmaker's copy lost)", async () => {
    const stale = "job_zstale";
    await db.insert(jobs).values(jobRow(stale, { spec: { ...unmatchable, match_timeout_s: 60 }, createdAt: Date.now() - 3_600_000 }));
    await sweep(ctx);
    expect(await statusOf(stale)).toEqual({ status: "failed", error: "the network had no capacity for this job within its match timeout" });
  });
});
