// A matchmaker's copy of the providers' capacity: kept in memory after the first
// read (a round no longer parses every row), and always what its SQLite holds.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { matchmakerOf } from "../../../worker/bindings/objects.ts";
import type { ProviderCapacity } from "../../../worker/matching/matcher.ts";
import { MatchStore } from "../../../worker/matching/matchStore.ts";
import type { Matchmaker } from "../../../worker/objects/Matchmaker.ts";

const capacity = (address: string, freeMilliCpus: number): ProviderCapacity => ({
  address,
  freeGpus: [],
  totalGpus: [],
  freeMilliCpus,
  totalMilliCpus: 8000,
  freeMemoryMb: 4096,
  totalMemoryMb: 4096,
  gpuSecondWei: 10n,
  cpuSecondWei: 1n,
  reputation: 0,
});

describe("a matchmaker's providers", () => {
  it("are what its storage holds after every publish and removal, read once and kept in step", async () => {
    await runInDurableObject(matchmakerOf(env, "cpu"), async (matchmaker: Matchmaker, state) => {
      const a = `0x${"a".repeat(40)}`;
      const b = `0x${"b".repeat(40)}`;
      await matchmaker.upsertProvider(capacity(a, 8000));
      expect((await matchmaker.onlineProviders()).map((p) => p.address)).toContain(a);
      // Changed and added after the first read: the kept copy follows.
      await matchmaker.upsertProvider(capacity(a, 2000));
      await matchmaker.upsertProvider(capacity(b, 4000));
      await matchmaker.removeProvider(b);
      const kept = (await matchmaker.onlineProviders()).filter((p) => p.address === a || p.address === b);
      // A fresh read of the same storage, as after the object is evicted and comes back.
      const fresh = new MatchStore(state.storage.sql).providers().filter((p) => p.address === a || p.address === b);
      expect(kept).toEqual([capacity(a, 2000)]);
      expect(fresh).toEqual(kept);
    });
  });
});
