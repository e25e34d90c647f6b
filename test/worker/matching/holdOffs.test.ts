// A matchmaker's hold-offs as its rounds see them: a provider held off from a job
// is left out of that job's candidates until the hold-off ends, each one longer
// than the last up to a bound, and a requeued or removed job starts afresh.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HOLD_OFF_QUERIES, MAX_HOLD_OFF_FACTOR } from "../../../worker/matching/holdOffs.ts";
import type { QueuedJob } from "../../../worker/matching/matcher.ts";
import { MatchStore } from "../../../worker/matching/matchStore.ts";

const BASE_MS = 1_000;
const job = (id: string): QueuedJob => ({ id, resources: { gpus: 0, cpus: 1, memory_mb: 256 }, maxPriceWei: 1n, timeoutS: 60, matchDeadline: 1e12 });

async function withStore(name: string, use: (store: MatchStore, sql: SqlStorage) => void): Promise<void> {
  const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`test-holdoffs-${name}`));
  await runInDurableObject(stub, async (_matchmaker, state) => use(new MatchStore(state.storage.sql), state.storage.sql));
}

const excludedOf = (store: MatchStore, jobId: string) => store.waiting(false).find((row) => row.job.id === jobId)?.job.excluded;

describe("hold-offs", () => {
  it("leave a provider out of a job's candidates until they end, then let it back in, each one twice as long up to a bound", async () => {
    await withStore("doubling", (store) => {
      store.put(job("j"));
      store.offered("j", "0xbusy", 50_000);
      store.holdOff("j", "0xbusy", 10_000, BASE_MS);
      // Out on offer no more: the job waits for the next round, without that provider.
      expect(store.offeredTo("j")).toBeNull();
      expect(excludedOf(store, "j")).toEqual(["0xbusy"]);
      expect(store.nextDeadline()).toBe(11_000);
      expect(store.liftEndedHoldOffs(10_999)).toBe(false);
      expect(store.liftEndedHoldOffs(11_000)).toBe(true);
      expect(excludedOf(store, "j")).toEqual([]);
      // Lifted once: nothing more to lift, and no deadline left from it.
      expect(store.liftEndedHoldOffs(20_000)).toBe(false);
      expect(store.nextDeadline()).toBe(1e12);

      const ends = [];
      for (let i = 0; i < 6; i++) {
        store.holdOff("j", "0xbusy", 100_000, BASE_MS);
        ends.push(store.nextDeadline()! - 100_000);
        store.liftEndedHoldOffs(1e11);
      }
      expect(ends).toEqual([2_000, 4_000, 8_000, MAX_HOLD_OFF_FACTOR * BASE_MS, MAX_HOLD_OFF_FACTOR * BASE_MS, MAX_HOLD_OFF_FACTOR * BASE_MS]);
    });
  });

  it("keep each provider and job apart, and add to the providers excluded for good", async () => {
    await withStore("apart", (store) => {
      store.put(job("a"));
      store.put(job("b"));
      store.exclude("a", "0xnever");
      store.holdOff("a", "0xbusy", 0, BASE_MS);
      store.holdOff("a", "0xslow", 500, BASE_MS);
      expect(excludedOf(store, "a")).toEqual(["0xnever", "0xbusy", "0xslow"]);
      expect(excludedOf(store, "b")).toEqual([]);
      store.liftEndedHoldOffs(1_000);
      expect(excludedOf(store, "a")).toEqual(["0xnever", "0xslow"]);
    });
  });

  it("go with the job: a requeued job starts afresh, a removed one leaves none behind", async () => {
    await withStore("forget", (store, sql) => {
      store.put(job("requeued"));
      store.holdOff("requeued", "0xbusy", 0, BASE_MS);
      store.holdOff("requeued", "0xbusy", 0, BASE_MS);
      store.put(job("requeued"));
      expect(excludedOf(store, "requeued")).toEqual([]);
      // Its count started over too: the next hold-off is the first length again.
      store.holdOff("requeued", "0xbusy", 0, BASE_MS);
      expect(store.nextDeadline()).toBe(BASE_MS);
      store.remove("requeued");
      expect(sql.exec("SELECT COUNT(*) AS n FROM held_off").one().n).toBe(0);
      // A job no longer queued (accepted meanwhile) gets none.
      store.holdOff("requeued", "0xbusy", 0, BASE_MS);
      expect(sql.exec("SELECT COUNT(*) AS n FROM held_off").one().n).toBe(0);
    });
  });

  it("answer every per-round read from an index", async () => {
    await withStore("plans", (store, sql) => {
      for (let i = 0; i < 200; i++) {
        store.put(job(`job${i}`));
        store.holdOff(`job${i}`, "0xbusy", i, BASE_MS);
      }
      store.liftEndedHoldOffs(1_100);
      for (const [name, query] of Object.entries(HOLD_OFF_QUERIES)) {
        const bindings = query.includes("?") ? [5_000] : [];
        const plan = sql.exec(`EXPLAIN QUERY PLAN ${query}`, ...bindings).toArray().map((row) => String(row.detail));
        expect(plan.join("; "), name).toMatch(/USING (COVERING )?INDEX held_off_pending/);
      }
    });
  });
});
