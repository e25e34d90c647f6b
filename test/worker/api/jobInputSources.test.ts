// Pipelines: a job whose input files are an earlier job's outputs, through the real
// API, hub and matchmakers. Checked at creation against the creator's own jobs,
// held back from matching while its source runs, resolved (or failed, saying why)
// when the source ends, offered with every byte named, and read by its provider
// (only) from the source's outputs in R2.
import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { relayReadMessage, sourceObject, uploadHeaders } from "../../../protocol/uploads.ts";
import { sweep } from "../../../worker/cron/sweeper.ts";
import { createDb } from "../../../worker/db/client.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { eventually } from "../../helpers/eventually.ts";
import { ownProvider, runningJob, specFor } from "../assignedJob.ts";
import { ORIGIN, post, signIn } from "../client.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";
import { sha256Hex } from "../providerOutputs.ts";
import { fail, getJob, succeed, succeededJob } from "../sourceJobs.ts";

const db = createDb(env.DB);
const MODEL = "the weights of a model, as bytes";

/** An input entry naming `job`'s output `output`, at /inputs/<path>. */
const from = (job: string, output = "model.pt", path = output) => ({ path, from: { job, output } });

async function create(key: string, body: unknown): Promise<{ status: number; body: Job & { type?: string; detail?: string; errors?: { path: string; message: string }[] } }> {
  const response = await post("/v1/jobs", body, { key });
  return { status: response.status, body: (await response.json()) as never };
}

async function cancel(key: string, id: string): Promise<void> {
  expect((await post(`/v1/jobs/${id}/cancel`, {}, { key })).status).toBe(200);
}

async function signedRead(provider: Pick<TestProvider, "account" | "address">, jobId: string, sha256: string, headers: Record<string, string> = {}): Promise<Response> {
  const timestamp = Date.now();
  const signature = await provider.account.signMessage({ message: relayReadMessage({ jobId, object: sourceObject(sha256), timestamp }) });
  return SELF.fetch(`${ORIGIN}/v1/providers/jobs/${jobId}/data/sources/${sha256}`, {
    headers: { [uploadHeaders.provider]: provider.address, [uploadHeaders.timestamp]: String(timestamp), [uploadHeaders.signature]: signature, ...headers },
  });
}

describe("creating a job from another job's outputs", () => {
  it("resolves an output of a succeeded job of yours, keeps the spec as signed, and offers it with the output's size and sha256", async () => {
    const { key } = await signIn();
    const { job: source, files } = await succeededJob(key, { "model.pt": MODEL, "metrics.json": "{}" });
    const model = files.find((file) => file.path === "model.pt")!;
    const { provider, cpus } = await ownProvider();
    const entry = { ...from(source.id), size: model.size, sha256: model.sha256 };
    const created = await create(key, { ...specFor(cpus), input_files: [entry] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.spec.input_files).toEqual([entry]);
    expect(created.body.resolved_input_files).toEqual([entry]);

    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(created.body.id);
    expect(offer.spec.input_files).toEqual([entry]);
    // Later tests' providers are bigger: one left queued would be offered to them.
    await cancel(key, created.body.id);
    await provider.close();
  });

  it("refuses a source that is another creator's exactly as one that does not exist", async () => {
    const [alice, bob] = await Promise.all([signIn(), signIn()]);
    const { job: hers, files } = await succeededJob(alice.key, { "model.pt": MODEL });
    const pinned = { size: files[0]!.size, sha256: files[0]!.sha256 };
    const ghost = "job_0000000000000000000000000z";

    const stolen = await create(bob.key, { ...specFor(256), input_files: [{ ...from(hers.id), ...pinned }] });
    const unknown = await create(bob.key, { ...specFor(256), input_files: [{ ...from(ghost), ...pinned }] });
    expect(stolen.status).toBe(422);
    expect(stolen.body.errors).toEqual([{ path: "input_files.0.from.job", message: `${hers.id} was not found` }]);
    // Nothing tells the two apart but the id each named.
    expect(JSON.stringify(stolen.body).replaceAll(hers.id, "ID")).toBe(JSON.stringify(unknown.body).replaceAll(ghost, "ID"));
  });

  it("refuses a source that failed, saying why", async () => {
    const { key } = await signIn();
    const run = await runningJob(key);
    await fail(run, "the training diverged: loss is NaN");
    await run.provider.close();
    const refused = await create(key, { ...specFor(256), input_files: [from(run.job.id)] });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      { path: "input_files.0.from.job", message: `${run.job.id}, which failed: the training diverged: loss is NaN; only a succeeded job's outputs can be inputs` },
    ]);
  });

  it("refuses an output the source did not leave, naming those it did", async () => {
    const { key } = await signIn();
    const { job: source } = await succeededJob(key, { "weights.bin": MODEL, "metrics.json": "{}" });
    const refused = await create(key, { ...specFor(256), input_files: [from(source.id, "model.pt")] });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([{ path: "input_files.0.from.output", message: `${source.id}, which left no output named model.pt (its outputs: metrics.json, weights.bin)` }]);
  });

  it("refuses an entry without the size and sha256 of a succeeded source's output, or with others, giving the right ones", async () => {
    const { key } = await signIn();
    const { job: source, files } = await succeededJob(key, { "model.pt": MODEL });
    const right = [
      { path: "input_files.0.size", message: `must be ${files[0]!.size}, the size of ${source.id}'s output model.pt` },
      { path: "input_files.0.sha256", message: `must be ${files[0]!.sha256}, the sha256 of ${source.id}'s output model.pt` },
    ];
    for (const entry of [from(source.id), { ...from(source.id), size: 1, sha256: "0".repeat(64) }]) {
      const refused = await create(key, { ...specFor(256), input_files: [entry] });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ type: "https://pond.dev/problems/input-source-mismatch", errors: right });
    }
  });

  it("refuses a batch whose jobs name a succeeded source's output without its bytes with that same type, so a client signs them and sends it again", async () => {
    const { key } = await signIn();
    const { job: source, files } = await succeededJob(key, { "model.pt": MODEL });
    const batch = async (entry: Record<string, unknown>) => {
      const response = await post("/v1/jobs/batch", { jobs: [specFor(256), { ...specFor(256), input_files: [entry] }, { ...specFor(256), input_files: [entry] }] }, { key });
      return { status: response.status, body: (await response.json()) as { type: string; detail: string; errors: Array<{ path: string }>; jobs: Job[] } };
    };
    const refused = await batch(from(source.id));
    expect(refused.status).toBe(422);
    expect(refused.body.type).toBe("https://pond.dev/problems/input-source-mismatch");
    expect(refused.body.errors.map((error) => error.path)).toEqual(["jobs.1.input_files.0.size", "jobs.1.input_files.0.sha256", "jobs.2.input_files.0.size", "jobs.2.input_files.0.sha256"]);
    const pinned = await batch({ ...from(source.id), size: files[0]!.size, sha256: files[0]!.sha256 });
    expect(pinned.status).toBe(201);
    expect(pinned.body.jobs.map((job) => job.resolved_input_files?.length ?? 0)).toEqual([0, 1, 1]);
  });

  it("refuses an entry with size but no sha256, and a creator's file without either", async () => {
    const { key } = await signIn();
    const refused = await create(key, { ...specFor(256), input_files: [{ ...from("job_abc"), size: 3 }, { path: "data.csv" }] });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual(
      expect.arrayContaining([
        { path: "input_files.0.sha256", message: expect.stringMatching(/give both size and sha256/) },
        { path: "input_files.1.size", message: expect.stringMatching(/is required/) },
        { path: "input_files.1.sha256", message: expect.stringMatching(/is required/) },
      ]),
    );
  });
});

describe("a job waiting for its source", () => {
  it("stays queued and unoffered while its source runs, and is offered with the output's bytes once it succeeds", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const { provider, cpus } = await ownProvider();
    const created = await create(key, { ...specFor(cpus), input_files: [from(source.job.id)] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "queued", resolved_input_files: null, status_detail: expect.stringContaining(`waiting for ${source.job.id} (for model.pt) to finish`) });
    // A fitting provider is connected, and is offered nothing while the source runs.
    expect(await provider.receives("job.offer", 2_000)).toBe(false);

    const [model] = await succeed(source, { "model.pt": MODEL });
    const offer = await provider.next("job.offer");
    expect(offer.job_id).toBe(created.body.id);
    const resolved = { ...from(source.job.id), size: model!.size, sha256: model!.sha256 };
    expect(offer.spec.input_files).toEqual([resolved]);
    const job = await getJob(key, created.body.id);
    // The spec stays as signed; what the provider checks is beside it.
    expect(job.spec.input_files).toEqual([from(source.job.id)]);
    expect(job.resolved_input_files).toEqual([resolved]);
    await cancel(key, created.body.id);
    await Promise.all([provider.close(), source.provider.close()]);
  });

  it("fails when its source fails, naming the input and the source's error", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const created = await create(key, { ...specFor(256), input_files: [from(source.job.id, "model.pt")] });
    await fail(source, "exit 3: out of memory");
    const failed = await eventually(async () => {
      const job = await getJob(key, created.body.id);
      return job.status === "failed" && job;
    });
    expect(failed.error).toBe(`its input model.pt comes from ${source.job.id}, which failed: exit 3: out of memory`);
    await source.provider.close();
  });

  it("fails when its source succeeds without the output it names", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const created = await create(key, { ...specFor(256), input_files: [from(source.job.id, "model.pt", "weights.pt")] });
    await succeed(source, { "log.txt": "no model this time" });
    const failed = await eventually(async () => {
      const job = await getJob(key, created.body.id);
      return job.status === "failed" && job;
    });
    expect(failed.error).toBe(`its input weights.pt comes from ${source.job.id}, which left no output named model.pt (its outputs: log.txt)`);
    await source.provider.close();
  });

  it("resolves every one of many jobs waiting on one source", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const dependents = await Promise.all(Array.from({ length: 12 }, (_, i) => create(key, { ...specFor(256), input_files: [from(source.job.id, "model.pt", `model-${i}.pt`)] })));
    expect(dependents.map((d) => d.status)).toEqual(Array(12).fill(201));
    const [model] = await succeed(source, { "model.pt": MODEL });
    for (const [i, dependent] of dependents.entries()) {
      // Each reaches its matchmaker, which says why nothing fits it (none of these providers is that big).
      const job = await eventually(async () => {
        const current = await getJob(key, dependent.body.id);
        return current.status_detail?.startsWith("no connected provider") && current;
      });
      expect(job).toMatchObject({ status: "queued", resolved_input_files: [{ path: `model-${i}.pt`, size: model!.size, sha256: model!.sha256, from: { job: source.job.id, output: "model.pt" } }] });
    }
    await source.provider.close();
  });

  it("waits on both of two sources, and fails when the second fails after the first succeeded", async () => {
    const { key } = await signIn();
    // One after the other: the second's provider is bigger, and would fit the first's job too.
    const first = await runningJob(key);
    const second = await runningJob(key);
    const created = await create(key, { ...specFor(256), input_files: [from(first.job.id, "model.pt"), from(second.job.id, "data.csv")] });
    await succeed(first, { "model.pt": MODEL });
    await eventually(async () => (await getJob(key, created.body.id)).status_detail?.startsWith(`waiting for ${second.job.id} (for data.csv)`));
    expect((await getJob(key, created.body.id)).status).toBe("queued");
    await fail(second, "no data");
    await eventually(async () => (await getJob(key, created.body.id)).error === `its input data.csv comes from ${second.job.id}, which failed: no data`);
    await Promise.all([first.provider.close(), second.provider.close()]);
  });
});

describe("the sweeper and a waiting job", () => {
  it("never fails a waiting job for its match timeout, and starts its match window when its inputs are known", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const created = await create(key, { ...specFor(256), match_timeout_s: 1, input_files: [from(source.job.id)] });
    const ctx = jobContextFor(env, { baseUrl: ORIGIN });
    // Half an hour on: its own match timeout (1 s) is long past, but it has not been matchable yet.
    await sweep(ctx, Date.now() + 30 * 60_000);
    expect((await getJob(key, created.body.id)).status).toBe("queued");
    await succeed(source, { "model.pt": MODEL });
    const ready = await eventually(async () => (await db.select().from(jobs).where(eq(jobs.id, created.body.id)))[0]?.inputsReadyAt ?? undefined);
    await sweep(ctx, ready + 500);
    expect((await getJob(key, created.body.id)).status).toBe("queued");
    // Past the window that started then (and the sweeper's slack), no provider fitting it: it fails as any job would.
    await sweep(ctx, ready + 1_000 + 3 * 60_000);
    expect(await getJob(key, created.body.id)).toMatchObject({ status: "failed", error: "the network had no capacity for this job within its match timeout" });
    await source.provider.close();
  });

  it("resolves a waiting job whose source ended while no one heard (a lost announcement)", async () => {
    const { key } = await signIn();
    const source = await runningJob(key);
    const created = await create(key, { ...specFor(256), input_files: [from(source.job.id)] });
    // Ended behind the listeners' back, as a crash between the write and its announcement leaves it.
    await db.update(jobs).set({ status: "failed", error: "lost in a crash" }).where(eq(jobs.id, source.job.id));
    expect((await getJob(key, created.body.id)).status).toBe("queued");
    await sweep(jobContextFor(env, { baseUrl: ORIGIN }));
    expect(await getJob(key, created.body.id)).toMatchObject({ status: "failed", error: `its input model.pt comes from ${source.job.id}, which failed: lost in a crash` });
    await source.provider.close();
  });
});

describe("reading a source's output", () => {
  it("lets the job's provider read it by sha256, whole or from an offset, and refuses any other provider", async () => {
    const { key } = await signIn();
    const { job: source, files } = await succeededJob(key, { "model.pt": MODEL });
    const model = files[0]!;
    const { provider, cpus } = await ownProvider();
    const created = await create(key, { ...specFor(cpus), input_files: [{ ...from(source.id), size: model.size, sha256: model.sha256 }] });
    await provider.accept(await provider.next("job.offer"));

    const whole = await signedRead(provider, created.body.id, model.sha256);
    expect(whole.status).toBe(200);
    const bytes = new Uint8Array(await whole.arrayBuffer());
    expect(await sha256Hex(bytes)).toBe(model.sha256);
    const rest = await signedRead(provider, created.body.id, model.sha256, { range: "bytes=4-" });
    expect(rest.status).toBe(206);
    expect(new TextDecoder().decode(await rest.arrayBuffer())).toBe(MODEL.slice(4));

    // Another provider, however well it signs, and a sha256 the job does not name from another job.
    const stranger = await connectProvider({ resources: { cpus: 0.5 } });
    const refused = await signedRead(stranger, created.body.id, model.sha256);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/only the job's provider, or a mediator drawn for it/);
    expect((await signedRead(provider, created.body.id, "ab".repeat(32))).status).toBe(404);
    // Unsigned: refused before anything is looked up.
    expect((await SELF.fetch(`${ORIGIN}/v1/providers/jobs/${created.body.id}/data/sources/${model.sha256}`)).status).toBe(401);
    await cancel(key, created.body.id);
    await Promise.all([provider.close(), stranger.close()]);
  });
});
