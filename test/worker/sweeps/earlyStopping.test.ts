// A batch created with stop_early, through the real API, hub, job rooms and judge:
// the jobs report their loss on POND_METRICS lines as a daemon relays their logs,
// and the judge cancels the one the median stopping rule stops, with nobody
// waiting on the batch; its provider is told, the others run on, and once every
// job has ended the judge keeps nothing.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job, JobBatch } from "../../../protocol/job.ts";
import { sweepJudgeOf } from "../../../worker/bindings/objects.ts";
import { workerJudgePorts } from "../../../worker/sweeps/judge.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { eventually } from "../../helpers/eventually.ts";
import { call, post, signIn, validJob } from "../client.ts";
import { connectProvider, gpu, type TestProvider } from "../providerSocket.ts";

const lossLines = (...losses: number[]) => losses.map((loss, i) => `POND_METRICS {"step": ${i + 1}, "loss": ${loss}}\n`).join("");

async function getJob(key: string, id: string): Promise<Job> {
  return (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;
}

/** A provider with `n` GPUs of a model no other test uses, and a batch of `n` jobs for it. */
async function batchOn(n: number, extra: Record<string, unknown>) {
  const { key, account } = await signIn();
  const name = `sweep A10 ${crypto.randomUUID().slice(0, 8)}`;
  const provider = await connectProvider({ resources: { cpus: 16, gpus: Array.from({ length: n }, (_, i) => gpu(i, name, 24_576)) } });
  const jobs = Array.from({ length: n }, () => ({ ...validJob(), resources: { gpus: 1, gpu_models: [name], cpus: 1, memory_mb: 1024 } }));
  const response = await post("/v1/jobs/batch", { jobs, ...extra }, { key });
  return { key, account, provider, response };
}

async function runAll(provider: TestProvider, n: number): Promise<string[]> {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const offer = await provider.next("job.offer", 10_000);
    await provider.accept(offer);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
    ids.push(offer.job_id);
  }
  return ids;
}

const fail = (provider: TestProvider, jobId: string) =>
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: jobId, outcome: "failed", exit_code: 1, error: "done here", manifest: null, amount_wei: "0", signature: null });

describe("a batch with stop_early", () => {
  it("has the API cancel the run the median rule stops, as it reports, and tell its provider; the rest run on", async () => {
    const { key, provider, response } = await batchOn(4, { stop_early: { metric: "loss", mode: "min" } });
    expect(response.status).toBe(201);
    const batch = (await response.json()) as JobBatch;
    expect(batch.stop_early).toEqual({ metric: "loss", mode: "min", after_step: 1 });
    const running = await runAll(provider, 4);
    const [bad, ...good] = running as [string, ...string[]];
    for (const id of good) provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: id, data: `training\n${lossLines(1, 0.9)}` });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: bad, data: lossLines(5, 4.9) });

    expect((await provider.next("job.cancel", 15_000)).job_id).toBe(bad);
    const stopped = await getJob(key, bad);
    expect(stopped.status).toBe("canceled");
    expect(stopped.status_detail).toBe("canceled by its creator: stopped early at step 2: its best loss 4.9 is above the median 0.95 of 3 other runs' averages there");
    for (const id of good) expect((await getJob(key, id)).status).toBe("processing");

    // Every job ended: the judge lets the batch go and keeps nothing.
    fail(provider, bad);
    for (const id of good) fail(provider, id);
    const firstId = batch.jobs[0]!.id;
    await eventually(async () => (await runInDurableObject(sweepJudgeOf(env, firstId), async (_judge, state) => (await state.storage.list()).size)) === 0, { what: "the judge to let the ended batch go", timeoutMs: 10_000 });
    // A cancel of a job that has ended is no stop, and no error: the judge's pass goes on.
    const ports = workerJudgePorts(jobContextFor(env));
    await eventually(async () => (await getJob(key, good[0]!)).status === "failed", { what: "the result taken" });
    expect(await ports.cancel(good[0]!, "stopped early at step 2: …")).toBe(false);
    expect((await getJob(key, good[0]!)).status).toBe("failed");
    await provider.close();
  });

  it("stops a run whose loss is not a number at once, and none before the first step it was asked to judge at", async () => {
    const { key, provider, response } = await batchOn(4, { stop_early: { metric: "loss", mode: "min", after_step: 3 } });
    expect(response.status).toBe(201);
    const [early, diverged, ...rest] = (await runAll(provider, 4)) as [string, string, ...string[]];
    for (const id of rest) provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: id, data: lossLines(1, 0.9, 0.8) });
    // Far worse, but only at step 2: not yet judged.
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: early, data: lossLines(9, 9) });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: diverged, data: `${lossLines(1, 0.9)}POND_METRICS {"step": 3, "loss": NaN}\n` });
    expect((await provider.next("job.cancel", 15_000)).job_id).toBe(diverged);
    expect((await getJob(key, diverged)).status_detail).toBe("canceled by its creator: stopped early at step 3: its loss is not a number");
    // A few passes of the judge later, the early one still runs; once past the first step judged, it goes too.
    expect(await provider.receives("job.cancel", 1_500)).toBe(false);
    expect((await getJob(key, early)).status).toBe("processing");
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: early, data: 'POND_METRICS {"step": 3, "loss": 8}\n' });
    expect((await provider.next("job.cancel", 15_000)).job_id).toBe(early);
    await provider.close();
  });

  it("refuses a rule it could never apply, saying what to fix, and creates nothing", async () => {
    const few = await batchOn(3, { stop_early: { metric: "loss", mode: "min" } });
    expect(few.response.status).toBe(422);
    const problem = (await few.response.json()) as { detail: string; errors: Array<{ path: string }> };
    expect(problem.detail).toBe("stop_early needs at least 4 jobs: each is judged against at least 3 others; this batch has 3");
    expect(problem.errors.map((error) => error.path)).toEqual(["stop_early"]);
    const badName = await batchOn(4, { stop_early: { metric: "val loss", mode: "lowest" } });
    expect(badName.response.status).toBe(422);
    const named = (await badName.response.json()) as { errors: Array<{ path: string }> };
    expect(named.errors.map((error) => error.path).sort()).toEqual(["stop_early.metric", "stop_early.mode"]);
    // Nothing was created: no offer comes.
    expect(await few.provider.receives("job.offer", 500)).toBe(false);
    expect(await badName.provider.receives("job.offer", 200)).toBe(false);
    await few.provider.close();
    await badName.provider.close();
  });

  it("judges only its creator's jobs: a judge started for another account stops none of them", async () => {
    const { key, account, provider, response } = await batchOn(4, {});
    const ids = ((await response.json()) as JobBatch).jobs.map((job) => job.id);
    const [bad, ...good] = (await runAll(provider, 4)) as [string, ...string[]];
    for (const id of good) provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: id, data: lossLines(1, 0.9) });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: bad, data: lossLines(5, 4.9) });
    const now = Date.now();
    const rule = { jobIds: ids, stopEarly: { metric: "loss", mode: "min" as const, after_step: 1 }, startedAt: now, endBy: now + 3_600_000 };
    await sweepJudgeOf(env, `stranger-${ids[0]}`).start({ ...rule, account: `0x${"5".repeat(40)}` });
    expect(await provider.receives("job.cancel", 2_000)).toBe(false);
    expect((await getJob(key, bad)).status).toBe("processing");
    // The same judge for their creator stops the losing one: the account was all that held it back.
    await sweepJudgeOf(env, `creator-${ids[0]}`).start({ ...rule, account: account.address.toLowerCase() });
    expect((await provider.next("job.cancel", 15_000)).job_id).toBe(bad);
    await provider.close();
  });

  it("keeps nothing for a batch it was started for and then told was refused", async () => {
    const judge = sweepJudgeOf(env, "refused-batch");
    const now = Date.now();
    await judge.start({ account: `0x${"6".repeat(40)}`, jobIds: ["job_refused"], stopEarly: { metric: "loss", mode: "min", after_step: 1 }, startedAt: now, endBy: now + 3_600_000 });
    await judge.abandon();
    const left = await runInDurableObject(judge, async (_judge, state) => ({ keys: (await state.storage.list()).size, alarm: await state.storage.getAlarm() }));
    expect(left).toEqual({ keys: 0, alarm: null });
  });
});
