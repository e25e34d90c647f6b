// The sweeper's SQL against the JS it stands for: awaitsInputsSql against awaitsInputs, and
// dependentsWithEndedSources against what resolution (resolveDependent) would change. Rows
// written straight into D1 as insertQueuedJobs leaves them (the job and its source links).
import { env } from "cloudflare:test";
import { and, eq, inArray, not } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { unsettledFunding } from "../../../worker/chain/jobFunding.ts";
import { createDb } from "../../../worker/db/client.ts";
import { accounts, jobInputSources, jobs } from "../../../worker/db/schema.ts";
import { awaitsInputsSql, dependentsWithEndedSources, RECENTLY_ENDED_MS, resolveDependent } from "../../../worker/jobs/inputResolution.ts";
import { awaitsInputs } from "../../../worker/jobs/inputSources.ts";
import { sourceJobsOf, type JobSpec } from "../../../protocol/jobSpec.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";

const db = createDb(env.DB);
const ctx = jobContextFor(env, { baseUrl: "http://example.com" });
const CREATOR = "0x00000000000000000000000000000000000000c9";
const MODEL = { path: "model.pt", size: 5, sha256: "a".repeat(64) };
const base = { image: "ghcr.io/pond/example:1.0", resources: { gpus: 0, cpus: 256, memory_mb: 512 }, timeout_s: 60, max_price_wei: "1000000000000000000000" };
const tag = `rg${Date.now().toString(36)}`;
const id = (name: string) => `job_${tag}_${name}`;
const from = (job: string, path: string, output = "model.pt") => ({ path, from: { job, output } });

function row(jobId: string, columns: Partial<typeof jobs.$inferInsert> = {}): typeof jobs.$inferInsert {
  return { id: jobId, account: CREATOR, status: "queued", spec: base, ...unsettledFunding(jobId), webhookEventsFilter: [], createdAt: Date.now(), ...columns };
}
/** As insertQueuedJobs writes it: the job and one link per distinct source. */
async function queuedJob(jobId: string, spec: JobSpec, columns: Partial<typeof jobs.$inferInsert> = {}): Promise<void> {
  await db.insert(jobs).values(row(jobId, { spec, ...columns }));
  const sources = sourceJobsOf(spec);
  if (sources.length) await db.insert(jobInputSources).values(sources.map((sourceJobId) => ({ jobId, sourceJobId })));
}

const S = {
  ok: id("src_ok"),
  okLongAgo: id("src_ok_long_ago"),
  ok2: id("src_ok2"),
  run: id("src_run"),
  failed: id("src_failed"),
  canceled: id("src_canceled"),
  timedOut: id("src_timedout"),
  noOutput: id("src_nooutput"),
};

beforeAll(async () => {
  await db.insert(accounts).values({ address: CREATOR, webhookSecretEnc: "x" }).onConflictDoNothing();
  const done = { completedAt: Date.now(), output: { files: [MODEL], result_hash: `0x${"ab".repeat(32)}` } };
  // One at a time: a D1 statement binds at most 100 values.
  const sources = [
    row(S.ok, { status: "succeeded", ...done }),
    row(S.ok2, { status: "succeeded", ...done }),
    // Its end (and the announcement that would have resolved its dependents) is older than a sweep looks back.
    row(S.okLongAgo, { status: "succeeded", ...done, completedAt: Date.now() - RECENTLY_ENDED_MS - 60_000 }),
    row(S.run, { status: "processing", provider: "0x00000000000000000000000000000000000000e1", startedAt: Date.now(), spec: { ...base, timeout_s: 86_400 } }),
    row(S.failed, { status: "failed", error: "boom", completedAt: Date.now() }),
    row(S.canceled, { status: "canceled", completedAt: Date.now() }),
    row(S.timedOut, { status: "timed_out", completedAt: Date.now() }),
    // Succeeded, but without the output its dependents name.
    row(S.noOutput, { status: "succeeded", completedAt: Date.now(), output: { files: [{ ...MODEL, path: "other.pt" }], result_hash: `0x${"cd".repeat(32)}` } }),
  ];
  for (const source of sources) await db.insert(jobs).values(source);
});

describe("awaitsInputsSql agrees with awaitsInputs", () => {
  it("for each kind of queued job", async () => {
    const kinds: Record<string, { spec: JobSpec; columns?: Partial<typeof jobs.$inferInsert> }> = {
      plain: { spec: base as JobSpec },
      filesNoFrom: { spec: { ...base, input_files: [{ path: "a.bin", size: 3, sha256: "b".repeat(64) }] } as JobSpec },
      fromResolved: {
        spec: { ...base, input_files: [from(S.ok, "m.pt")] } as JobSpec,
        columns: { resolvedInputFiles: [{ path: "m.pt", size: 5, sha256: MODEL.sha256, from: { job: S.ok, output: "model.pt" } }], inputsReadyAt: Date.now() },
      },
      fromUnresolved: { spec: { ...base, input_files: [from(S.run, "m.pt")] } as JobSpec },
      fromUnresolvedMixed: { spec: { ...base, input_files: [{ path: "a.bin", size: 3, sha256: "b".repeat(64) }, from(S.run, "m.pt"), from(S.run, "n.pt")] } as JobSpec },
    };
    for (const [name, kind] of Object.entries(kinds)) await queuedJob(id(`q1_${name}`), kind.spec, kind.columns ?? {});
    const ids = Object.keys(kinds).map((name) => id(`q1_${name}`));
    const rows = await db.select().from(jobs).where(inArray(jobs.id, ids));
    const swept = new Set((await db.select({ id: jobs.id }).from(jobs).where(and(inArray(jobs.id, ids), eq(jobs.status, "queued"), not(awaitsInputsSql)))).map((r) => r.id));
    const js = Object.fromEntries(rows.map((r) => [r.id, !awaitsInputs(r)]));
    const sql = Object.fromEntries(rows.map((r) => [r.id, swept.has(r.id)]));
    expect(sql).toEqual(js);
    expect(js).toEqual({
      [id("q1_plain")]: true,
      [id("q1_filesNoFrom")]: true,
      [id("q1_fromResolved")]: true,
      [id("q1_fromUnresolved")]: false,
      [id("q1_fromUnresolvedMixed")]: false,
    });
  });
});

describe("dependentsWithEndedSources finds what resolution would change", () => {
  const cases: { name: string; files: ReturnType<typeof from>[]; changes: boolean; found?: boolean }[] = [
    { name: "failed_plus_running", files: [from(S.failed, "a.pt"), from(S.run, "b.pt")], changes: true },
    { name: "all_succeeded", files: [from(S.ok, "a.pt"), from(S.ok2, "b.pt")], changes: true },
    { name: "canceled_only", files: [from(S.canceled, "a.pt")], changes: true },
    { name: "timedout_plus_running", files: [from(S.timedOut, "a.pt"), from(S.run, "b.pt")], changes: true },
    // Left alone once its source's success is old news: such jobs, by the thousand, must not fill every sweep's page.
    { name: "succeeded_long_ago_plus_running", files: [from(S.okLongAgo, "a.pt"), from(S.run, "b.pt")], changes: false, found: false },
    // Looked at again while its source's end is recent (it may lack the output named), though it still waits.
    { name: "succeeded_recently_plus_running", files: [from(S.ok, "a.pt"), from(S.run, "b.pt")], changes: false, found: true },
    { name: "running_only", files: [from(S.run, "a.pt")], changes: false },
    // A source that succeeded without the named output fails the job at once, whatever else still runs.
    { name: "nooutput_plus_running", files: [from(S.noOutput, "a.pt"), from(S.run, "b.pt")], changes: true },
  ];
  beforeAll(async () => {
    for (const c of cases) await queuedJob(id(`q2_${c.name}`), { ...base, input_files: c.files } as JobSpec, { statusDetail: "waiting" });
  });

  for (const c of cases) {
    it(`${c.name}: found by the sweeper's query ${c.found === undefined ? "iff resolution would change it" : c.found ? "though it still waits" : "not while it rightly waits"}`, async () => {
      const jobId = id(`q2_${c.name}`);
      const found = (await dependentsWithEndedSources(db, 100_000)).includes(jobId);
      // What resolution does now, as a source's own announcement would.
      await resolveDependent(ctx, jobId);
      const after = (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0]!;
      const changed = after.status !== "queued" || after.resolvedInputFiles !== null;
      expect({ changed, found, status: after.status, error: after.error }).toMatchObject({ changed: c.changes, found: c.found ?? c.changes });
    });
  }
});
