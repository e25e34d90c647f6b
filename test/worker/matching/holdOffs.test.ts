// A matchmaker's hold-offs as its rounds see them: a provider held off is offered
// nothing until the hold-off ends, each one longer than the last up to a bound, and
// one that accepts an offer starts over.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HOLD_OFF_QUERIES, MAX_HOLD_OFF_FACTOR } from "../../../worker/matching/holdOffs.ts";
import type { ProviderCapacity, QueuedJob } from "../../../worker/matching/matcher.ts";
import { MatchStore } from "../../../worker/matching/matchStore.ts";

const BASE_MS = 1_000;
const job = (id: string): QueuedJob => ({ id, resources: { gpus: 0, cpus: 1, memory_mb: 256 }, maxPriceWei: 1n, timeoutS: 60, matchDeadline: 1e12 });
const provider = (address: string): ProviderCapacity => ({
  address,
  freeGpus: [],
  freeMilliCpus: 4_000,
  freeMemoryMb: 8_192,
  totalGpus: [],
  totalMilliCpus: 4_000,
  totalMemoryMb: 8_192,
  gpuSecondWei: 1n,
  cpuSecondWei: 1n,
  reputation: 0,
});

async function withStore(name: string, use: (store: MatchStore, sql: SqlStorage) => void): Promise<void> {
  const stub = env.MATCHMAKER.get(env.MATCHMAKER.idFromName(`test-holdoffs-${name}`));
  await runInDurableObject(stub, async (_matchmaker, state) => use(new MatchStore(state.storage.sql), state.storage.sql));
}

const offerable = (store: MatchStore) => store.providersToOffer().map((p) => p.address).sort();

describe("hold-offs", () => {
  it("offer a held-off provider nothing until the hold-off ends, each one twice as long up to a bound", async () => {
    await withStore("doubling", (store) => {
      store.putProvider(provider("0xbusy"));
      store.putProvider(provider("0xother"));
      store.put(job("j"));
      store.offered("j", "0xbusy", 50_000);
      store.holdOff("j", "0xbusy", 10_000, BASE_MS);
      // Out on offer no more: the job waits for the next round, which may offer it to the other provider.
      expect(store.offeredTo("j")).toBeNull();
      expect(offerable(store)).toEqual(["0xother"]);
      // The job itself excludes nobody: the hold-off is the provider's.
      expect(store.waiting(false)[0]!.job.excluded).toEqual([]);
      expect(store.nextDeadline()).toBe(11_000);
      expect(store.liftEndedHoldOffs(10_999)).toBe(false);
      expect(store.liftEndedHoldOffs(11_000)).toBe(true);
      expect(offerable(store)).toEqual(["0xbusy", "0xother"]);
      // Lifted once: nothing more to lift, and no deadline left from it.
      expect(store.liftEndedHoldOffs(20_000)).toBe(false);
      expect(store.nextDeadline()).toBe(1e12);

      const lengths = [];
      for (let i = 0; i < 6; i++) {
        store.holdOff("j", "0xbusy", 100_000, BASE_MS);
        lengths.push(store.nextDeadline()! - 100_000);
        store.liftEndedHoldOffs(100_000 + MAX_HOLD_OFF_FACTOR * BASE_MS);
      }
      expect(lengths).toEqual([2_000, 4_000, 8_000, MAX_HOLD_OFF_FACTOR * BASE_MS, MAX_HOLD_OFF_FACTOR * BASE_MS, MAX_HOLD_OFF_FACTOR * BASE_MS]);
    });
  });

  it("start over for a provider that accepts an offer, and are forgotten an hour after they were lifted", async () => {
    await withStore("forget", (store, sql) => {
      store.putProvider(provider("0xback"));
      store.holdOff("a", "0xback", 0, BASE_MS);
      store.holdOff("b", "0xback", 0, BASE_MS);
      store.accepted("0xback");
      expect(offerable(store)).toEqual(["0xback"]);
      store.holdOff("c", "0xback", 0, BASE_MS);
      expect(store.nextDeadline()).toBe(BASE_MS);
      store.liftEndedHoldOffs(BASE_MS);
      expect(sql.exec("SELECT COUNT(*) AS n FROM provider_hold_offs").one().n).toBe(1);
      store.liftEndedHoldOffs(BASE_MS + 60 * 60_000);
      expect(sql.exec("SELECT COUNT(*) AS n FROM provider_hold_offs").one().n).toBe(1);
      // Lifting another's hold-off sweeps the old one away.
      store.holdOff("d", "0xother", BASE_MS + 60 * 60_000, BASE_MS);
      store.liftEndedHoldOffs(3 * BASE_MS + 60 * 60_000);
      expect(sql.exec("SELECT address FROM provider_hold_offs").toArray().map((row) => row.address)).toEqual(["0xother"]);
    });
  });

  it("answer every per-round read from an index", async () => {
    await withStore("plans", (store, sql) => {
      for (let i = 0; i < 200; i++) store.holdOff(`job${i}`, `0xprovider${i}`, i, BASE_MS);
      store.liftEndedHoldOffs(1_100);
      for (const [name, query] of Object.entries(HOLD_OFF_QUERIES)) {
        const bindings = query.includes("?") ? [5_000] : [];
        const plan = sql.exec(`EXPLAIN QUERY PLAN ${query}`, ...bindings).toArray().map((row) => String(row.detail));
        expect(plan.join("; "), name).toMatch(/USING (COVERING )?INDEX provider_hold_offs_pending/);
      }
    });
  });
});
