// POST /v1/jobs/batch through the real Worker in workerd: jobs created together,
// in order, all of them or none. A bad job anywhere in the batch (a field, a
// template that is not there, an input from a stranger's job) leaves nothing
// behind, and concurrent batches each land whole. Paid batches against an escrow
// are in test/worker/chain/admission.test.ts and, on anvil, test/e2e/sweeps.test.ts.
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { jobLimits } from "../../../protocol/limits.ts";
import { call, post, signIn, validJob } from "../client.ts";

type Problem = { status: number; slug?: string; type: string; detail: string; errors?: Array<{ path: string; message: string }> };

const batchOf = (jobs: unknown[]) => ({ jobs });
const tag = () => `b${crypto.randomUUID().slice(0, 8)}`;

async function createBatch(key: string, jobs: unknown[], headers: Record<string, string> = {}): Promise<Job[]> {
  const response = await post("/v1/jobs/batch", batchOf(jobs), { key, headers });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { jobs: Job[] }).jobs;
}

async function refused(key: string, jobs: unknown[], status: number): Promise<Problem> {
  const response = await post("/v1/jobs/batch", batchOf(jobs), { key });
  expect(response.status, await response.clone().text()).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  return (await response.json()) as Problem;
}

/** The caller's jobs carrying label batch=`value`, oldest first. */
async function labelled(key: string, value: string): Promise<Job[]> {
  const response = await call(`/v1/jobs?label=batch=${value}&limit=100`, { key });
  expect(response.status).toBe(200);
  return ((await response.json()) as { results: Job[] }).results.reverse();
}

async function publishEcho(key: string): Promise<string> {
  const name = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}/echo`;
  const response = await post(
    "/v1/templates",
    {
      name,
      version: "1.0.0",
      description: "Prints a message",
      image: `registry.example/pond/echo@sha256:${"ab".repeat(32)}`,
      cmd: ["echo", "{{message}}"],
      params: { type: "object", properties: { message: { type: "string", maxLength: 10 } }, required: ["message"] },
      resources: { gpus: 0, cpus: 0.5, memory_mb: 128 },
      timeout_s: 60,
      default_max_price_wei: "1000000000000000",
      deterministic: true,
    },
    { key },
  );
  expect(response.status, await response.clone().text()).toBe(201);
  return `${name}@1.0.0`;
}

describe("batch create", () => {
  it("creates every job, in the order sent, specs and template runs alike, each with its own labels", async () => {
    const { key } = await signIn();
    const template = await publishEcho(key);
    const value = tag();
    const jobs = await createBatch(key, [
      { ...validJob(), env: { LR: "0.1" }, labels: { batch: value, lr: "0.1" } },
      { template, params: { message: "hi" }, labels: { batch: value, message: "hi" } },
      { ...validJob(), env: { LR: "0.01" }, labels: { batch: value, lr: "0.01" } },
    ]);
    expect(jobs.map((job) => job.status)).toEqual(["queued", "queued", "queued"]);
    expect(jobs.map((job) => job.labels)).toEqual([{ batch: value, lr: "0.1" }, { batch: value, message: "hi" }, { batch: value, lr: "0.01" }]);
    expect(jobs[0]!.spec.env).toEqual({ LR: "0.1" });
    expect(jobs[1]!.spec.cmd).toEqual(["echo", "hi"]);
    expect(jobs[1]!.template).toBe(template);
    expect(new Set(jobs.map((job) => job.id)).size).toBe(3);
    expect((await labelled(key, value)).map((job) => job.id)).toEqual(jobs.map((job) => job.id));
    // Each was written with its first transition, as a single create writes it.
    const transitions = await call(`/v1/jobs/${jobs[2]!.id}/transitions`, { key });
    expect(((await transitions.json()) as { results: Array<{ from: string | null; to: string }> }).results).toEqual([expect.objectContaining({ from: null, to: "queued" })]);
  });

  it("creates nothing when one job's fields are refused, and names every bad field under its job", async () => {
    const { key } = await signIn();
    const value = tag();
    const problem = await refused(
      key,
      [
        { ...validJob(), labels: { batch: value } },
        { ...validJob(), timeout_s: 0, labels: { batch: value } },
        { ...validJob(), labels: { batch: value } },
        { ...validJob(), image: "", labels: { batch: value, "": "x" } },
      ],
      422,
    );
    const paths = problem.errors!.map((error) => error.path);
    expect(paths).toContain("jobs.1.timeout_s");
    expect(paths).toContain("jobs.3.image");
    expect(paths.some((path) => path.startsWith("jobs.0") || path.startsWith("jobs.2"))).toBe(false);
    expect(await labelled(key, value)).toEqual([]);
  });

  it("creates nothing when a later job is refused by the API's own checks (a template's parameter, a template not there)", async () => {
    const { key } = await signIn();
    const template = await publishEcho(key);
    const value = tag();
    const tooLong = await refused(
      key,
      [
        { template, params: { message: "hi" }, labels: { batch: value } },
        { template, params: { message: "far too long a message" }, labels: { batch: value } },
      ],
      422,
    );
    expect(tooLong.detail).toMatch(/^1 of the batch's 2 jobs was refused, so none was created; jobs\.1: /);
    expect(tooLong.errors!.every((error) => error.path.startsWith("jobs.1"))).toBe(true);
    const missing = await refused(
      key,
      [
        { template, params: { message: "hi" }, labels: { batch: value } },
        { ...validJob(), labels: { batch: value } },
        { template: `${template.split("@")[0]}@9.9.9`, params: { message: "hi" }, labels: { batch: value } },
      ],
      404,
    );
    expect(missing.detail).toMatch(/^jobs\.2: /);
    expect(await labelled(key, value)).toEqual([]);
  });

  it("creates nothing when one job takes an input from another creator's job, which it is told does not exist", async () => {
    const { key } = await signIn();
    const stranger = await signIn();
    const theirs = await createBatch(stranger.key, [validJob()]);
    const value = tag();
    const problem = await refused(
      key,
      [
        { ...validJob(), labels: { batch: value } },
        { ...validJob(), labels: { batch: value }, input_files: [{ path: "model.pt", from: { job: theirs[0]!.id, output: "model.pt" } }] },
      ],
      422,
    );
    expect(problem.detail).toContain("jobs.1");
    expect(await labelled(key, value)).toEqual([]);
  });

  it("takes jobs whose inputs come from a job still running: they wait for it, saying so", async () => {
    const { key } = await signIn();
    const [source] = await createBatch(key, [validJob()]);
    const jobs = await createBatch(
      key,
      [1, 2].map((i) => ({ ...validJob(), input_files: [{ path: `model-${i}.pt`, from: { job: source!.id, output: "model.pt" } }] })),
    );
    for (const job of jobs) {
      expect(job.status).toBe("queued");
      expect(job.status_detail).toContain(source!.id);
    }
  });

  it("refuses an empty batch, one over the limit, and two jobs with one authorization, naming them", async () => {
    const { key } = await signIn();
    expect((await refused(key, [], 422)).errors!.map((error) => error.path)).toEqual(["jobs"]);
    const over = await refused(key, Array.from({ length: jobLimits.maxBatchJobs + 1 }, validJob), 422);
    expect(over.errors).toEqual([expect.objectContaining({ path: "jobs", message: expect.stringContaining(`at most ${jobLimits.maxBatchJobs}`) })]);
    const authorization = { job_key: `0x${"12".repeat(32)}`, deadline: 1_900_000_000, signature: `0x${"11".repeat(65)}` };
    const repeated = await refused(key, [validJob(), { ...validJob(), authorization }, validJob(), { ...validJob(), authorization }], 422);
    expect(repeated.detail).toMatch(/jobs\.1 and jobs\.3 carry the same authorization job_key/);
    expect(repeated.errors!.map((error) => error.path)).toEqual(["jobs.3.authorization.job_key"]);
  });

  it("creates a batch of the full size, and concurrent batches each whole, none mixed into another", async () => {
    const { key } = await signIn();
    const full = tag();
    const big = await createBatch(key, Array.from({ length: jobLimits.maxBatchJobs }, (_, i) => ({ ...validJob(), labels: { batch: full, i: String(i) } })));
    expect(big.map((job) => job.labels.i)).toEqual(Array.from({ length: jobLimits.maxBatchJobs }, (_, i) => String(i)));
    const values = Array.from({ length: 5 }, tag);
    const batches = await Promise.all(values.map((value) => createBatch(key, Array.from({ length: 12 }, (_, i) => ({ ...validJob(), labels: { batch: value, i: String(i) } })))));
    for (const [n, value] of values.entries()) {
      expect(batches[n]!.every((job) => job.labels.batch === value)).toBe(true);
      expect((await labelled(key, value)).map((job) => job.id)).toEqual(batches[n]!.map((job) => job.id));
    }
  });

  it("keeps one creator's batches, a refused one and full ones, from touching another creator's creates made beside them", async () => {
    const hostile = await signIn();
    const honest = await signIn();
    const [theirs, refusedTag, otherTheirs, mine] = [tag(), tag(), tag(), tag()];
    const full = (value: string) => Array.from({ length: jobLimits.maxBatchJobs }, (_, i) => ({ ...validJob(), labels: { batch: value, i: String(i) } }));
    const refusedBatch = [...full(refusedTag).slice(1), { ...validJob(), timeout_s: 0, labels: { batch: refusedTag } }];
    const [fullA, bad, fullB, single, batch] = await Promise.all([
      post("/v1/jobs/batch", { jobs: full(theirs) }, { key: hostile.key }),
      post("/v1/jobs/batch", { jobs: refusedBatch }, { key: hostile.key }),
      post("/v1/jobs/batch", { jobs: full(otherTheirs) }, { key: hostile.key }),
      post("/v1/jobs", { ...validJob(), labels: { batch: mine } }, { key: honest.key }),
      post("/v1/jobs/batch", { jobs: [1, 2, 3].map((i) => ({ ...validJob(), labels: { batch: mine, i: String(i) } })) }, { key: honest.key }),
    ]);
    expect([fullA.status, bad.status, fullB.status, single.status, batch.status]).toEqual([201, 422, 201, 201, 201]);
    // The honest creator's jobs are exactly the four asked for; none of the other's reached them, nor theirs the other.
    const own = await labelled(honest.key, mine);
    expect(own).toHaveLength(4);
    expect(await labelled(honest.key, theirs)).toEqual([]);
    expect(await labelled(hostile.key, theirs)).toHaveLength(jobLimits.maxBatchJobs);
    expect(await labelled(hostile.key, otherTheirs)).toHaveLength(jobLimits.maxBatchJobs);
    expect(await labelled(hostile.key, refusedTag)).toEqual([]);
    expect(await labelled(hostile.key, mine)).toEqual([]);
  });

  it("answers a retry with the same Idempotency-Key with the same jobs, creating none again", async () => {
    const { key } = await signIn();
    const value = tag();
    const headers = { "idempotency-key": `batch-${value}` };
    const body = [1, 2, 3].map((i) => ({ ...validJob(), labels: { batch: value, i: String(i) } }));
    const first = await createBatch(key, body, headers);
    const again = await createBatch(key, body, headers);
    expect(again.map((job) => job.id)).toEqual(first.map((job) => job.id));
    expect(await labelled(key, value)).toHaveLength(3);
  });

  it("wants an API key", async () => {
    const response = await post("/v1/jobs/batch", batchOf([validJob()]));
    expect(response.status).toBe(401);
  });
});
