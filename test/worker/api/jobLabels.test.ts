// Labels through the real Worker in workerd: set at create (a spec's or a template
// run's, and a paid job's through its admission object), shown on the job, and
// filtered on by the listing, which reads them from their index and only ever
// finds the caller's own jobs.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { labelLimits } from "../../../protocol/limits.ts";
import { admissionOf } from "../../../worker/bindings/objects.ts";
import { accounts, chainAccounts } from "../../../worker/db/schema.ts";
import { labelledJobsQuery } from "../../../worker/jobs/labels.ts";
import { listJobRows } from "../../../worker/jobs/repository.ts";
import { db, paidJob } from "../chain/jobRows.ts";
import { call, ORIGIN, post, signIn, validJob } from "../client.ts";

type Page = { results: Job[]; next: string | null; previous: string | null };
type Problem = { status: number; detail: string; errors?: Array<{ path: string; message: string }> };

async function create(key: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Job> {
  const response = await post("/v1/jobs", { ...validJob(), ...extra, ...(labels ? { labels } : {}) }, { key });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await response.json()) as Job;
}

async function list(key: string, query: string): Promise<Page> {
  const response = await call(`/v1/jobs?${query}`, { key });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Page;
}

const ids = (page: Page) => page.results.map((job) => job.id);
const sweep = () => `swp_${crypto.randomUUID().slice(0, 8)}`;

describe("job labels", () => {
  it("keeps a job's labels, shows them on the job, and leaves them out of its spec", async () => {
    const { key } = await signIn();
    const labels = { experiment: "digits lr", "pond.sweep/lr": "0.01", empty: "" };
    const job = await create(key, labels);
    expect(job.labels).toEqual(labels);
    expect(job.spec).not.toHaveProperty("labels");
    const read = (await (await call(`/v1/jobs/${job.id}`, { key })).json()) as Job;
    expect(read.labels).toEqual(labels);
    expect((await create(key)).labels).toEqual({});
  });

  it("lists only the caller's jobs carrying every label asked for, newest first, across pages", async () => {
    const { key } = await signIn();
    const stranger = await signIn();
    const id = sweep();
    const a = await create(key, { "pond.sweep": id, lr: "0.1" });
    const b = await create(key, { "pond.sweep": id, lr: "0.01" });
    const c = await create(key, { "pond.sweep": id, lr: "0.1", seed: "2" });
    await create(key, { "pond.sweep": "other", lr: "0.1" });
    await create(key);
    await create(stranger.key, { "pond.sweep": id, lr: "0.1" });

    expect(ids(await list(key, `label=pond.sweep=${id}`))).toEqual([c.id, b.id, a.id]);
    expect(ids(await list(key, `label=pond.sweep=${id}&label=lr=0.1`))).toEqual([c.id, a.id]);
    expect(ids(await list(key, `label=pond.sweep=${id}&label=lr=0.1&label=seed=2`))).toEqual([c.id]);
    expect(ids(await list(key, `label=pond.sweep=${id}&label=lr=1`))).toEqual([]);
    const strangers = await list(stranger.key, `label=pond.sweep=${id}`);
    expect(strangers.results.map((job) => job.labels)).toEqual([{ "pond.sweep": id, lr: "0.1" }]);
    expect(ids(strangers)).not.toContain(a.id);
    // A value with '=' in it: the first '=' ends the key.
    const odd = await create(key, { formula: "a=b+c" });
    expect(ids(await list(key, "label=formula=a%3Db%2Bc"))).toEqual([odd.id]);

    // The next page keeps the filters.
    const first = await list(key, `label=pond.sweep=${id}&label=lr=0.1&limit=1`);
    expect(ids(first)).toEqual([c.id]);
    const second = await list(key, new URL(first.next!).search.slice(1));
    expect(ids(second)).toEqual([a.id]);
    expect(second.next).toBeNull();
    // And back: the previous link walks the same index the other way.
    const back = await list(key, new URL(second.previous!).search.slice(1));
    expect(ids(back)).toEqual([c.id]);
    expect(back.previous).toBeNull();
    // With a status too: only those of the labelled jobs in it.
    const canceled = await post(`/v1/jobs/${b.id}/cancel`, {}, { key });
    expect(canceled.status).toBe(200);
    expect(ids(await list(key, `label=pond.sweep=${id}&status=canceled`))).toEqual([b.id]);
    expect(ids(await list(key, `label=pond.sweep=${id}&label=lr=0.1&status=canceled`))).toEqual([]);
  });

  it("gives each of 20 jobs created at once exactly its own labels", async () => {
    const { key } = await signIn();
    const id = sweep();
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => create(key, { "pond.sweep": id, point: String(i) })));
    expect(ids(await list(key, `label=pond.sweep=${id}&limit=100`))).toHaveLength(20);
    for (const [i, job] of jobs.entries()) expect(ids(await list(key, `label=pond.sweep=${id}&label=point=${i}`))).toEqual([job.id]);
  });

  it("refuses labels past their limits, saying which and why, and writes nothing", async () => {
    const { key } = await signIn();
    const tooMany = Object.fromEntries(Array.from({ length: labelLimits.maxLabels + 1 }, (_, i) => [`k${i}`, "v"]));
    const cases: Array<[Record<string, string>, RegExp]> = [
      [tooMany, /at most 16 labels/],
      [{ "-leading": "v" }, /start with a letter or digit/],
      [{ "has space": "v" }, /start with a letter or digit/],
      [{ ["k".repeat(labelLimits.maxKeyLength + 1)]: "v" }, /63/],
      [{ k: "v".repeat(labelLimits.maxValueLength + 1) }, /128/],
      [{ k: "line\nbreak" }, /control characters/],
      [{ k: "\u009b31mred" }, /control characters/],
      [{ k: "\u202eesrever" }, /bidirectional overrides/],
      [{ k: "half \ud800 a pair" }, /lone surrogate/],
    ];
    for (const [labels, message] of cases) {
      const response = await post("/v1/jobs", { ...validJob(), labels }, { key });
      expect(response.status).toBe(422);
      const problem = (await response.json()) as Problem;
      expect(JSON.stringify(problem.errors)).toMatch(message);
      expect(problem.errors!.some((e) => e.path.startsWith("labels"))).toBe(true);
    }
    expect((await list(key, "")).results).toEqual([]);
  });

  it("refuses a label filter that is not key=value, or more filters than it combines, naming the one", async () => {
    const { key } = await signIn();
    const many = Array.from({ length: labelLimits.maxFilters + 1 }, (_, i) => `label=k${i}=v`).join("&");
    const cases: Array<[string, string, RegExp]> = [
      ["label=novalue", "label.0", /must be key=value/],
      ["label=%20x=1", "label.0", /must be key=value/],
      [`label=${"k".repeat(64)}=v`, "label.0", /must be key=value/],
      ["label=a=1&label=novalue", "label.1", /must be key=value/],
      [many, "label", /at most 4 times/],
    ];
    for (const [query, path, message] of cases) {
      const response = await call(`/v1/jobs?${query}`, { key });
      expect(response.status, query).toBe(422);
      const errors = ((await response.json()) as Problem).errors!;
      expect(errors, query).toEqual([{ path, message: expect.stringMatching(message) }]);
    }
  });

  it("keeps the labels of a template run", async () => {
    const { key } = await signIn();
    const name = `t${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}/echo`;
    const template = {
      name,
      version: "1.0.0",
      description: "Prints a message",
      image: `registry.example/pond/echo@sha256:${"ab".repeat(32)}`,
      cmd: ["echo", "{{message}}"],
      params: { type: "object", properties: { message: { type: "string", maxLength: 100 } }, required: ["message"] },
      resources: { gpus: 0, cpus: 0.5, memory_mb: 128 },
      timeout_s: 60,
      default_max_price_wei: "1000000000000000",
      deterministic: true,
    };
    const published = await post("/v1/templates", template, { key });
    expect(published.status, await published.clone().text()).toBe(201);
    const response = await post("/v1/jobs", { template: `${name}@1.0.0`, params: { message: "hi" }, labels: { "pond.sweep/message": "hi" } }, { key });
    expect(response.status, await response.clone().text()).toBe(201);
    const job = (await response.json()) as Job;
    expect(job.labels).toEqual({ "pond.sweep/message": "hi" });
    expect(ids(await list(key, "label=pond.sweep/message=hi"))).toEqual([job.id]);
  });

  it("indexes the labels of a paid job admitted against its escrow", async () => {
    const account = `0x${crypto.randomUUID().replaceAll("-", "").padEnd(40, "0")}`;
    await db.insert(accounts).values({ address: account, webhookSecretEnc: "x" });
    await db.insert(chainAccounts).values({ address: account, balanceWei: "1000000", reservedWei: "0" });
    const job = paidJob(account, 1000n, { labels: { "pond.sweep": "paid" } });
    expect((await admissionOf(env, account).admit([job], ORIGIN)).admitted).toBe(true);
    const rows = await listJobRows(db, account, { labels: [{ key: "pond.sweep", value: "paid" }], limit: 10 });
    expect(rows.map((row) => [row.id, row.labels])).toEqual([[job.id, { "pond.sweep": "paid" }]]);
  });

  it("walks a filtered listing from the first label's index in the jobs' order: no scan of the account's jobs, no sort", async () => {
    const account = "0x00000000000000000000000000000000000000c1";
    const filters = [{ key: "pond.sweep", value: "x" }, { key: "lr", value: "0.1" }];
    for (const options of [{ limit: 100 }, { limit: 20, status: "succeeded", cursor: { direction: "older" as const, seq: 1000 } }, { limit: 20, cursor: { direction: "newer" as const, seq: 10 } }]) {
      const query = labelledJobsQuery(db, account, filters, options).toSQL();
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query.sql}`)
        .bind(...query.params)
        .all<{ id: number; parent: number; detail: string }>();
      const outer = plan.results.filter((row) => row.parent === 0).map((row) => row.detail);
      expect(outer[0], outer.join("\n")).toMatch(/^SEARCH job_labels USING (COVERING )?INDEX job_labels_account_key_value_seq \(account=\? AND key=\? AND value=\?( AND seq[<>]\?)?\)$/);
      // Then, per label row: the other label by its key in the job's own rows, and the job by its id.
      expect(outer.slice(1).sort()).toEqual(["SEARCH jobs USING INDEX jobs_id (id=?)", "SEARCH other EXISTS USING INDEX sqlite_autoindex_job_labels_1 (job_id=? AND key=?)"]);
      const details = plan.results.map((row) => row.detail).join("\n");
      expect(details).not.toMatch(/TEMP B-TREE|SCAN/);
    }
  });
});
