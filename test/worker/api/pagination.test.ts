import { describe, expect, it } from "vitest";
import type { Job } from "../../../protocol/job.ts";
import { call, post, signIn, validJob, ORIGIN } from "../client.ts";

type Page = { results: Job[]; next: string | null; previous: string | null };

async function page(url: string, key: string): Promise<Page> {
  const response = await call(url.replace(ORIGIN, ""), { key });
  expect(response.status).toBe(200);
  return (await response.json()) as Page;
}

async function createJobs(key: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  // Sequential, so creation order is known.
  for (let i = 0; i < count; i++) {
    const response = await post("/v1/jobs", { ...validJob(), timeout_s: 60 + i }, { key });
    ids.push(((await response.json()) as Job).id);
  }
  return ids;
}

describe("GET /v1/jobs pagination", () => {
  it("walks 250 jobs newest first with no duplicate and no gap while jobs keep arriving", { timeout: 60_000 }, async () => {
    const { key } = await signIn();
    const existing = await createJobs(key, 250);
    const expected = [...existing].reverse();

    const seen: string[] = [];
    const arrivedDuringWalk: string[] = [];
    let current = await page("/v1/jobs?limit=20", key);
    // The first page starts at the newest job that exists when it is read.
    seen.push(...current.results.map((j) => j.id));
    expect(current.previous).toBeNull();
    while (current.next) {
      // New jobs land between every page fetch.
      arrivedDuringWalk.push(...(await createJobs(key, 3)));
      current = await page(current.next, key);
      seen.push(...current.results.map((j) => j.id));
    }

    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expected);
    expect(seen.some((id) => arrivedDuringWalk.includes(id))).toBe(false);
  });

  it("walks back with previous links and sees what arrived meanwhile", async () => {
    const { key } = await signIn();
    const ids = await createJobs(key, 7);
    const first = await page("/v1/jobs?limit=3", key);
    const second = await page(first.next!, key);
    expect(second.results.map((j) => j.id)).toEqual([ids[3], ids[2], ids[1]]);
    const back = await page(second.previous!, key);
    expect(back.results.map((j) => j.id)).toEqual(first.results.map((j) => j.id));
    expect(back.previous).toBeNull();

    // A job arrives; the same previous link now leads on to it.
    const [newer] = await createJobs(key, 1);
    const again = await page(second.previous!, key);
    expect(again.results.map((j) => j.id)).toEqual(first.results.map((j) => j.id));
    const top = await page(again.previous!, key);
    expect(top.results.map((j) => j.id)).toEqual([newer]);
  });

  it("filters by status", async () => {
    const { key } = await signIn();
    const [a, b] = await createJobs(key, 2);
    await call(`/v1/jobs/${a}/cancel`, { method: "POST", key });
    const canceled = await page("/v1/jobs?status=canceled", key);
    expect(canceled.results.map((j) => j.id)).toEqual([a]);
    const queued = await page("/v1/jobs?status=queued", key);
    expect(queued.results.map((j) => j.id)).toEqual([b]);
  });

  it("refuses a bad cursor, limit or status with 422", async () => {
    const { key } = await signIn();
    for (const query of ["cursor=garbage", "limit=0", "limit=101", "status=exploded"]) {
      const response = await call(`/v1/jobs?${query}`, { key });
      expect(response.status, query).toBe(422);
    }
  });
});
