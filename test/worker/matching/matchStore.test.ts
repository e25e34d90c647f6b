// A matchmaker's queue as its rounds read it: which deadline comes next, which
// jobs are overdue, which offers were lost; and that each of those reads is
// answered from an index, so a round costs the same whether the queue holds
// ten jobs or ten thousand.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { QueuedJob } from "../../../worker/matching/matcher.ts";
import { MatchStore, ROUND_QUERIES } from "../../../worker/matching/matchStore.ts";

const job = (id: string, matchDeadline: number): QueuedJob => ({ id, resources: { gpus: 0, cpus: 1, memory_mb: 256 }, maxPriceWei: 1n, timeoutS: 60, matchDeadline });

/** A matchmaker object of its own (a name no job class has), its storage used directly. */
async function withStore(name: string, use: (store: MatchStore, sql: SqlStorage) => void): Promise<void> {
  const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`test-${name}`));
  await runInDurableObject(stub, async (_matchmaker, state) => use(new MatchStore(state.storage.sql), state.storage.sql));
}

describe("a matchmaker's queue", () => {
  it("says the next deadline is the earliest waiting job's match deadline or offer's deadline, an offered job's own match deadline aside", async () => {
    await withStore("deadlines", (store) => {
      expect(store.nextDeadline()).toBeUndefined();
      store.put(job("waiting", 5_000));
      // Past its match deadline, but out on offer: it is the offer that ends next for it.
      store.put(job("offered", 1_000));
      store.offered("offered", "0xprovider", 8_000);
      expect(store.nextDeadline()).toBe(5_000);
      store.offered("offered", "0xprovider", 3_000);
      expect(store.nextDeadline()).toBe(3_000);

      expect(store.overdue(2_000).map((row) => row.job.id)).toEqual([]);
      expect(store.overdue(6_000).map((row) => row.job.id)).toEqual(["waiting"]);
      expect(store.lostOffers(2_999)).toEqual([]);
      expect(store.lostOffers(3_000)).toEqual([{ jobId: "offered", provider: "0xprovider" }]);

      // The offer came to nothing: the job waits again, its match deadline counts.
      store.exclude("offered", "0xprovider");
      expect(store.nextDeadline()).toBe(1_000);
      expect(store.overdue(2_000).map((row) => row.job.id)).toEqual(["offered"]);
      expect(store.lostOffers(10_000)).toEqual([]);
    });
  });

  it("lists overdue jobs by deadline, oldest queued first among equal deadlines", async () => {
    await withStore("overdue-order", (store) => {
      store.put(job("late", 3_000));
      store.put(job("first", 1_000));
      store.put(job("second", 1_000));
      store.put(job("not-yet", 9_000));
      expect(store.overdue(5_000).map((row) => row.job.id)).toEqual(["first", "second", "late"]);
    });
  });

  it("answers every per-round read from an index, never by reading the whole queue", async () => {
    await withStore("plans", (store, sql) => {
      for (let i = 0; i < 200; i++) store.put(job(`job${i}`, 10_000 + i));
      for (const [name, query] of Object.entries(ROUND_QUERIES)) {
        const bindings = query.includes("?") ? [5_000] : [];
        const plan = sql.exec(`EXPLAIN QUERY PLAN ${query}`, ...bindings).toArray().map((row) => String(row.detail));
        expect(plan.join("; "), name).toMatch(/USING (COVERING )?INDEX/);
        expect(plan.join("; "), name).not.toMatch(/\bSCAN queue\b/);
      }
    });
  });
});
