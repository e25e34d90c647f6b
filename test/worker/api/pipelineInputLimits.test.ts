// Pipelines (a job's input_files naming an earlier job's outputs) under hostile input and
// at their limits: many sources, malformed ids and paths, sources without outputs, chains,
// a canceled dependent, concurrent creates, and a paid job's deadline when its inputs come late.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { unsettledFunding } from "../../../worker/chain/jobFunding.ts";
import { earliestDeadline, RESULT_MARGIN_S } from "../../../protocol/deadlines.ts";
import { jobLimits } from "../../../protocol/limits.ts";
import { createDb } from "../../../worker/db/client.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { resolveDependent } from "../../../worker/jobs/inputResolution.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { eventually } from "../../helpers/eventually.ts";
import { runningJob, specFor } from "../assignedJob.ts";
import { post, signIn } from "../client.ts";
import { insertJob, unmatchableSpec } from "../chain/jobRows.ts";
import { fail, getJob, succeed } from "../sourceJobs.ts";

const db = createDb(env.DB);
const MODEL = "the weights of a model, as bytes";
const from = (job: string, output = "model.pt", path = output) => ({ path, from: { job, output } });
type Problem = Job & { type?: string; detail?: string; errors?: { path: string; message: string }[] };

async function create(key: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Problem; contentType: string | null }> {
  const response = await post("/v1/jobs", body, { key, headers });
  return { status: response.status, contentType: response.headers.get("content-type"), body: (await response.json()) as never };
}

/** A job of `key`'s that no provider fits, left queued: as a source, it has not finished. */
async function queuedJob(key: string): Promise<Job> {
  const created = await create(key, { ...specFor(255.875) });
  expect(created.status).toBe(201);
  return created.body;
}

describe("many sources in one spec", () => {
  it("answers 422, not 500, for a spec naming 150 distinct jobs that do not exist", async () => {
    const { key } = await signIn();
    const ids = Array.from({ length: 150 }, (_, i) => `job_${String(i).padStart(26, "0")}`);
    const created = await create(key, { ...specFor(256), input_files: ids.map((id, i) => from(id, "model.pt", `m${i}.pt`)) });
    expect(created.status, JSON.stringify(created.body).slice(0, 500)).toBe(422);
    expect(created.contentType).toMatch(/problem\+json/);
  });

  it("creates a job whose inputs come from as many distinct unfinished jobs as allowed, and refuses one more with a 422 saying so", async () => {
    const { key } = await signIn();
    const first = await queuedJob(key);
    const [row] = await db.select().from(jobs).where(eq(jobs.id, first.id));
    // The others written straight into D1 as copies of the first, queued (not finished).
    const ids = [first.id];
    for (let i = 1; i <= jobLimits.maxSourceJobs; i++) {
      const id = `${first.id}x${i}`;
      ids.push(id);
      const { seq: _seq, ...copy } = row!;
      await db.insert(jobs).values({ ...copy, ...unsettledFunding(id), id });
    }
    const inputsFrom = (sources: string[]) => ({ ...specFor(256), input_files: sources.map((id, i) => from(id, "model.pt", `m${i}.pt`)) });
    const created = await create(key, inputsFrom(ids.slice(0, jobLimits.maxSourceJobs)));
    expect(created.status, JSON.stringify(created.body).slice(0, 500)).toBe(201);
    expect(created.body).toMatchObject({ status: "queued", resolved_input_files: null });
    const refused = await create(key, inputsFrom(ids));
    expect(refused.status).toBe(422);
    expect(refused.body.errors?.map((error) => error.message).join(" ")).toContain(`at most ${jobLimits.maxSourceJobs} distinct jobs`);
  });
});

/** A copy of `like` (one of the creator's jobs) written straight into D1 with these columns. */
async function copyOf(like: Job, columns: Partial<typeof jobs.$inferInsert>): Promise<string> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, like.id));
  const { seq: _seq, ...copy } = row!;
  const id = `${like.id}c${Math.floor(Math.random() * 1e9)}`;
  await db.insert(jobs).values({ ...copy, ...unsettledFunding(id), id, ...columns });
  return id;
}

describe("hostile and odd entries", () => {
  it("refuses a malformed source id and an output path with '..' with a 422 naming the field", async () => {
    const { key } = await signIn();
    for (const [entry, field] of [
      [{ path: "m.pt", from: { job: "JOB_ABC", output: "model.pt" } }, "input_files.0.from.job"],
      [{ path: "m.pt", from: { job: "job_abc'; drop table jobs; --", output: "model.pt" } }, "input_files.0.from.job"],
      [{ path: "m.pt", from: { job: "job_abc", output: "../other/model.pt" } }, "input_files.0.from.output"],
      [{ path: "../m.pt", from: { job: "job_abc", output: "model.pt" } }, "input_files.0.path"],
    ] as const) {
      const refused = await create(key, { ...specFor(256), input_files: [entry] });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.contentType).toMatch(/problem\+json/);
      expect(refused.body.errors?.map((e) => e.path)).toContain(field);
    }
  });

  it("refuses a source that succeeded with no outputs at all, saying it left none", async () => {
    const { key } = await signIn();
    const like = await queuedJob(key);
    const empty = await copyOf(like, { status: "succeeded", output: { files: [], result_hash: `0x${"ab".repeat(32)}` }, completedAt: Date.now() });
    const nullOutput = await copyOf(like, { status: "succeeded", output: null, completedAt: Date.now() });
    for (const source of [empty, nullOutput]) {
      const refused = await create(key, { ...specFor(256), input_files: [from(source)] });
      expect(refused.status, JSON.stringify(refused.body)).toBe(422);
      expect(refused.body.errors).toEqual([{ path: "input_files.0.from.output", message: `${source}, which left no output named model.pt (it left no outputs)` }]);
    }
  });
});

describe("chains and shared sources", () => {
  it("fails every job down a chain of three when the first fails, each saying why", async () => {
    const { key } = await signIn();
    const first = await runningJob(key);
    const second = await create(key, { ...specFor(256), input_files: [from(first.job.id)] });
    expect(second.status).toBe(201);
    const third = await create(key, { ...specFor(256), input_files: [from(second.body.id, "out.bin")] });
    expect(third.status).toBe(201);
    expect(third.body.status_detail).toContain(`waiting for ${second.body.id}`);
    await fail(first, "boom");
    const secondError = `its input model.pt comes from ${first.job.id}, which failed: boom`;
    await eventually(async () => (await getJob(key, second.body.id)).error === secondError, { what: "the second to fail" });
    const failed = await eventually(async () => {
      const job = await getJob(key, third.body.id);
      return job.status === "failed" && job;
    }, { what: "the third to fail" });
    expect(failed.error).toBe(`its input out.bin comes from ${second.body.id}, which failed: ${secondError}`);
    await first.provider.close();
  });

  it("resolves the other dependents of a source when one of them was canceled while it waited", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const dependents = await Promise.all(Array.from({ length: 5 }, (_, i) => create(key, { ...specFor(256), input_files: [from(source.job.id, "model.pt", `m${i}.pt`)] })));
    expect(dependents.map((d) => d.status)).toEqual(Array(5).fill(201));
    expect((await post(`/v1/jobs/${dependents[2]!.body.id}/cancel`, {}, { key })).status).toBe(200);
    const [model] = await succeed(source, { "model.pt": MODEL });
    for (const [i, dependent] of dependents.entries()) {
      if (i === 2) continue;
      const job = await eventually(async () => {
        const current = await getJob(key, dependent.body.id);
        return current.resolved_input_files !== null && current;
      }, { what: `dependent ${i} resolved` });
      expect(job).toMatchObject({ status: "queued", resolved_input_files: [{ path: `m${i}.pt`, size: model!.size, sha256: model!.sha256 }] });
    }
    expect(await getJob(key, dependents[2]!.body.id)).toMatchObject({ status: "canceled", resolved_input_files: null });
    for (const [i, dependent] of dependents.entries()) if (i !== 2) await post(`/v1/jobs/${dependent.body.id}/cancel`, {}, { key });
    await source.provider.close();
  });

  it("makes one job of two creates with the same Idempotency-Key, and resolves it when the source succeeds", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const body = { ...specFor(256), input_files: [from(source.job.id)] };
    const idempotencyKey = `dep-${crypto.randomUUID()}`;
    const [a, b] = await Promise.all([create(key, body, { "idempotency-key": idempotencyKey }), create(key, body, { "idempotency-key": idempotencyKey })]);
    const statuses = [a.status, b.status].sort();
    expect([[201, 201], [201, 409]]).toContainEqual(statuses);
    const again = await create(key, body, { "idempotency-key": idempotencyKey });
    expect(again.status).toBe(201);
    const id = (a.status === 201 ? a : b).body.id;
    expect(again.body.id).toBe(id);
    const dependents = await db.select().from(jobs).where(eq(jobs.account, (await db.select().from(jobs).where(eq(jobs.id, id)))[0]!.account));
    // The source and the one dependent: no second job.
    expect(dependents.map((row) => row.id).sort()).toEqual([source.job.id, id].sort());
    await succeed(source, { "model.pt": MODEL });
    await eventually(async () => (await getJob(key, id)).resolved_input_files !== null, { what: "the dependent resolved" });
    await post(`/v1/jobs/${id}/cancel`, {}, { key });
    await source.provider.close();
  });
});

describe("a paid job's deadline when its inputs become known", () => {
  it("fails a waiting paid job whose deadline no longer leaves the margin for its result to reach the chain that creation demands", async () => {
    const ctx = jobContextFor(env, { db, baseUrl: "https://pond.test" });
    const model = { path: "model.pt", size: 5, sha256: "a".repeat(64) };
    const source = await insertJob("source", { status: "succeeded", settlement: "none", authSignature: null, authDeadline: null, output: { files: [model], result_hash: `0x${"ab".repeat(32)}` } });
    const spec = { ...unmatchableSpec, timeout_s: 600, match_timeout_s: 600, input_files: [{ path: "model.pt", from: { job: source.id, output: "model.pt" } }] };
    // What creation demands of a deadline now (match window + timeout + RESULT_MARGIN_S for the result to reach the chain)...
    const earliest = earliestDeadline(spec as never, Date.now());
    expect(earliest - Math.ceil(Date.now() / 1000)).toBe(600 + 600 + RESULT_MARGIN_S);
    // ...and a waiting job whose deadline leaves the match window and the timeout, but only 60 s of that margin.
    const dependent = await insertJob("dependent", { spec, settlement: "pending", authDeadline: earliest - RESULT_MARGIN_S + 60 });
    const ready = await resolveDependent(ctx, dependent.id);
    const [row] = await db.select().from(jobs).where(eq(jobs.id, dependent.id));
    // Matched at the end of its window and run to its timeout, its result would have 60 s to reach the chain, not 300.
    expect(ready, "resolved and handed to matching").toBeUndefined();
    expect(row).toMatchObject({ status: "failed", resolvedInputFiles: null });
  });
});
