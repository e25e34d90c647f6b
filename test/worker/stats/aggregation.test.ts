// The pure parts of the network figures: medians, hourly series, capacity sums.
import { describe, expect, it } from "vitest";
import { summarizeCapacity } from "../../../worker/stats/capacity.ts";
import { HOUR_MS, hourlyBuckets } from "../../../worker/stats/hourlyBuckets.ts";
import { median } from "../../../worker/stats/median.ts";
import { joinWeiSum } from "../../../worker/stats/weiSum.ts";
import type { ProviderCapacity } from "../../../worker/matching/matcher.ts";

describe("median", () => {
  it("is the middle value, the mean of the middle two, or null for nothing", () => {
    expect(median([])).toBeNull();
    expect(median([7])).toBe(7);
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe("hourlyBuckets", () => {
  it("fills every hour, oldest first, and sorts statuses into queued, started and finished", () => {
    const now = 1_000 * HOUR_MS + 5;
    const buckets = hourlyBuckets(
      [
        { hour: 1_000, status: "queued", count: 3 },
        { hour: 1_000, status: "processing", count: 2 },
        { hour: 1_000, status: "succeeded", count: 1 },
        { hour: 1_000, status: "timed_out", count: 1 },
        { hour: 998, status: "canceled", count: 4 },
        { hour: 1_000, status: "starting", count: 9 },
        // Outside the window, and a status no job has: both left out.
        { hour: 990, status: "queued", count: 100 },
        { hour: 1_000, status: "exploded", count: 100 },
      ],
      now,
      3,
    );
    expect(buckets).toEqual([
      { hour: new Date(998 * HOUR_MS).toISOString(), queued: 0, started: 0, finished: 4 },
      { hour: new Date(999 * HOUR_MS).toISOString(), queued: 0, started: 0, finished: 0 },
      { hour: new Date(1_000 * HOUR_MS).toISOString(), queued: 3, started: 2, finished: 2 },
    ]);
  });
});

describe("joinWeiSum", () => {
  it("joins the gwei and sub-gwei sums exactly", () => {
    expect(joinWeiSum(undefined)).toBe(0n);
    expect(joinWeiSum({ high: null, low: null })).toBe(0n);
    expect(joinWeiSum({ high: "15000000000", low: "3" })).toBe(15_000_000_000_000_000_003n);
  });
});

describe("summarizeCapacity", () => {
  const slot = (uuid: string, model: string, vramMb: number, index = 0) => ({ uuid, index, model, vramMb });
  const provider = (address: string, total: ReturnType<typeof slot>[], free: ReturnType<typeof slot>[], milliCpus = 4_000): ProviderCapacity => ({
    address,
    totalGpus: total,
    freeGpus: free,
    totalMilliCpus: milliCpus,
    freeMilliCpus: milliCpus / 2,
    totalMemoryMb: 8_192,
    freeMemoryMb: 1_024,
    gpuSecondWei: 1n,
    cpuSecondWei: 1n,
    reputation: 0,
  });

  it("sums capacity, groups GPUs by model and VRAM, and lists the largest providers first", () => {
    const a = slot("a", "H100", 81_559);
    const b = slot("b", "H100", 81_559, 1);
    const c = slot("c", "A10", 24_576);
    const summary = summarizeCapacity([provider("0xsmall", [], [], 2_000), provider("0xbig", [a, b], [b]), provider("0xmid", [c], [c])]);
    expect(summary.providersOnline).toBe(3);
    expect(summary.providers.map((p) => p.address)).toEqual(["0xbig", "0xmid", "0xsmall"]);
    expect(summary.providers[0]!.gpus).toEqual([{ model: "H100", vram_mb: 81_559, free: false }, { model: "H100", vram_mb: 81_559, free: true }]);
    expect(summary.capacity).toEqual({ gpus: { total: 3, free: 2 }, cpus: { total: 10, free: 5 }, memory_mb: { total: 24_576, free: 3_072 } });
    expect(summary.gpuModels).toEqual([{ model: "H100", vram_mb: 81_559, total: 2, free: 1 }, { model: "A10", vram_mb: 24_576, total: 1, free: 1 }]);
  });
});
