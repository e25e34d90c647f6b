import { describe, expect, it } from "vitest";
import type { Resources } from "../../../protocol/jobSpec.ts";
import { explainNeverFits, matchJobs, rateFor, type GpuSlot, type ProviderCapacity, type QueuedJob } from "../../../worker/matching/matcher.ts";

const gpu = (uuid: string, vramMb: number, model = "NVIDIA H100 80GB HBM3", index = 0): GpuSlot => ({ uuid, index, model, vramMb });

function provider(address: string, options: Partial<ProviderCapacity> & { gpus?: GpuSlot[] } = {}): ProviderCapacity {
  const gpus = options.gpus ?? [];
  return {
    address,
    freeGpus: gpus,
    totalGpus: gpus,
    freeMilliCpus: 8000,
    totalMilliCpus: 8000,
    freeMemoryMb: 32_768,
    totalMemoryMb: 32_768,
    gpuSecondWei: 100n,
    cpuSecondWei: 1n,
    reputation: 0,
    ...options,
  };
}

let n = 0;
function job(resources: Partial<Resources>, options: Partial<QueuedJob> = {}): QueuedJob {
  return {
    id: `job${++n}`,
    resources: { gpus: 0, cpus: 1, memory_mb: 1024, ...resources },
    maxPriceWei: 10n ** 18n,
    timeoutS: 60,
    matchDeadline: Number.MAX_SAFE_INTEGER,
    ...options,
  };
}

describe("matchJobs", () => {
  it("requires every assigned GPU to have the VRAM, not just the largest", () => {
    const mixed = provider("0xmixed", { gpus: [gpu("small", 24_000), gpu("big", 80_000)], gpuSecondWei: 1n });
    const even = provider("0xeven", { gpus: [gpu("e1", 48_000), gpu("e2", 48_000)], gpuSecondWei: 9n });
    const { assignments } = matchJobs([mixed, even], [job({ gpus: 2, gpu_vram_mb: 40_000 })]);
    expect(assignments).toHaveLength(1);
    expect(assignments[0]).toMatchObject({ provider: "0xeven", gpuUuids: ["e1", "e2"] });
  });

  it("picks the smallest GPUs that qualify, keeping big ones for big jobs", () => {
    const host = provider("0xhost", { gpus: [gpu("big", 80_000, "x", 0), gpu("mid", 40_000, "x", 1), gpu("tiny", 8_000, "x", 2)] });
    const { assignments } = matchJobs([host], [job({ gpus: 1, gpu_vram_mb: 30_000 }), job({ gpus: 1, gpu_vram_mb: 60_000 })]);
    expect(assignments.map((a) => a.gpuUuids)).toEqual([["mid"], ["big"]]);
  });

  it("filters by model, case-insensitively, by substring", () => {
    const a100 = provider("0xa100", { gpus: [gpu("a", 80_000, "NVIDIA A100-SXM4-80GB")], gpuSecondWei: 1n });
    const h100 = provider("0xh100", { gpus: [gpu("h", 80_000, "NVIDIA H100 80GB HBM3")], gpuSecondWei: 50n });
    const { assignments } = matchJobs([a100, h100], [job({ gpus: 1, gpu_models: ["h100"] })]);
    expect(assignments[0]!.provider).toBe("0xh100");
  });

  it("prefers reputation, then price", () => {
    const cheap = provider("0xcheap", { cpuSecondWei: 1n, reputation: 1 });
    const pricey = provider("0xpricey", { cpuSecondWei: 5n, reputation: 1 });
    const trusted = provider("0xtrusted", { cpuSecondWei: 9n, reputation: 7 });
    expect(matchJobs([cheap, pricey, trusted], [job({})]).assignments[0]!.provider).toBe("0xtrusted");
    expect(matchJobs([pricey, cheap], [job({})]).assignments[0]!.provider).toBe("0xcheap");
  });

  it("keeps the price within max_price_wei for the whole timeout", () => {
    const p = provider("0xp", { cpuSecondWei: 10n });
    const fits = job({ cpus: 1 }, { timeoutS: 100, maxPriceWei: 1000n });
    const tooCheap = job({ cpus: 1 }, { timeoutS: 100, maxPriceWei: 999n });
    const { assignments, unmatched } = matchJobs([p], [tooCheap, fits]);
    expect(assignments.map((a) => a.jobId)).toEqual([fits.id]);
    expect(assignments[0]!.maxAmountWei).toBe(1000n);
    expect(unmatched).toEqual([tooCheap.id]);
  });

  it("never over-commits GPUs, CPUs or memory, and runs several jobs on one host", () => {
    const host = provider("0xhost", { gpus: [gpu("g0", 80_000), gpu("g1", 80_000)], freeMilliCpus: 3000, totalMilliCpus: 3000, freeMemoryMb: 5000, totalMemoryMb: 5000 });
    const jobs = [job({ gpus: 1, cpus: 1, memory_mb: 2000 }), job({ gpus: 1, cpus: 1, memory_mb: 2000 }), job({ gpus: 1, cpus: 1, memory_mb: 100 }), job({ gpus: 0, cpus: 1, memory_mb: 1000 }), job({ gpus: 0, cpus: 0.5, memory_mb: 100 })];
    const { assignments, unmatched } = matchJobs([host], jobs);
    const gpusUsed = assignments.flatMap((a) => a.gpuUuids);
    expect(new Set(gpusUsed).size).toBe(gpusUsed.length);
    expect(assignments.reduce((s, a) => s + a.milliCpus, 0)).toBeLessThanOrEqual(3000);
    expect(assignments.reduce((s, a) => s + a.memoryMb, 0)).toBeLessThanOrEqual(5000);
    expect(assignments.map((a) => a.jobId)).toEqual([jobs[0]!.id, jobs[1]!.id, jobs[3]!.id]);
    expect(unmatched).toEqual([jobs[2]!.id, jobs[4]!.id]);
  });

  it("skips providers that declined the job", () => {
    const a = provider("0xa", { cpuSecondWei: 1n });
    const b = provider("0xb", { cpuSecondWei: 2n });
    expect(matchJobs([a, b], [job({}, { excluded: ["0xa"] })]).assignments[0]!.provider).toBe("0xb");
  });

  it("spreads jobs over providers equal in reputation and price, one round after another, and never over a cheaper one", () => {
    const equals = Array.from({ length: 10 }, (_, i) => provider(`0x${(i + 1).toString(16).padStart(40, "0")}`, { cpuSecondWei: 2n }));
    const chosen = new Map<string, number>();
    for (let seed = 1; seed <= 300; seed++) {
      const [assignment] = matchJobs(equals, [job({})], undefined, seed).assignments;
      chosen.set(assignment!.provider, (chosen.get(assignment!.provider) ?? 0) + 1);
    }
    // By address alone, all 300 went to the first.
    expect(chosen.size).toBe(10);
    expect(Math.max(...chosen.values())).toBeLessThan(90);
    // One round's order is its seed's: the same seed, the same provider.
    expect(matchJobs(equals, [job({})], undefined, 7).assignments[0]!.provider).toBe(matchJobs(equals, [job({})], undefined, 7).assignments[0]!.provider);
    const cheaper = provider(`0x${"f".repeat(40)}`, { cpuSecondWei: 1n });
    for (let seed = 1; seed <= 50; seed++) expect(matchJobs([...equals, cheaper], [job({})], undefined, seed).assignments[0]!.provider).toBe(cheaper.address);
  });

  it("does not change the capacities it was given", () => {
    const host = provider("0xhost", { gpus: [gpu("g0", 80_000)] });
    matchJobs([host], [job({ gpus: 1 })]);
    expect(host.freeGpus).toHaveLength(1);
    expect(host.freeMilliCpus).toBe(8000);
  });

  it("charges per GPU and per thousandth of a CPU", () => {
    expect(rateFor({ gpus: 2, cpus: 1.5, memory_mb: 1 }, { gpuSecondWei: 100n, cpuSecondWei: 10n })).toBe(215n);
    expect(rateFor({ gpus: 0, cpus: 0.1, memory_mb: 1 }, { gpuSecondWei: 100n, cpuSecondWei: 3n })).toBe(1n);
  });
});

describe("matchJobs: where the bytes already are", () => {
  /** The matchmaker's index, as a plain map: job id → (provider → bytes it holds for that job). */
  const holding = (byJob: Record<string, Record<string, number>>) => (queued: QueuedJob) => {
    const held = byJob[queued.id];
    return held ? new Map(Object.entries(held)) : undefined;
  };

  it("sends a job to the provider that holds its image and inputs, over a more reputable and cheaper one", () => {
    const best = provider("0xbest", { cpuSecondWei: 1n, reputation: 9 });
    const warm = provider("0xwarm", { cpuSecondWei: 5n, reputation: 0 });
    const repeat = job({});
    expect(matchJobs([best, warm], [repeat]).assignments[0]!.provider).toBe("0xbest");
    expect(matchJobs([best, warm], [repeat], holding({ [repeat.id]: { "0xwarm": 1_000_000 } })).assignments[0]!.provider).toBe("0xwarm");
  });

  it("prefers the holder that saves the most bytes, then reputation and price among equal ones", () => {
    const some = provider("0xsome", { cpuSecondWei: 1n, reputation: 5 });
    const most = provider("0xmost", { cpuSecondWei: 9n });
    const cheapTwin = provider("0xcheap", { cpuSecondWei: 2n });
    const dearTwin = provider("0xdear", { cpuSecondWei: 3n });
    const a = job({});
    const b = job({});
    const { assignments } = matchJobs([some, most, cheapTwin, dearTwin], [a, b], holding({ [a.id]: { "0xsome": 10, "0xmost": 20 }, [b.id]: { "0xdear": 7, "0xcheap": 7 } }));
    expect(assignments.map((x) => x.provider)).toEqual(["0xmost", "0xcheap"]);
  });

  it("takes a cold provider at once when the warm one has no room, within the same round", () => {
    const warm = provider("0xwarm", { freeMilliCpus: 1000, totalMilliCpus: 1000 });
    const cold = provider("0xcold", { cpuSecondWei: 9n });
    const first = job({ cpus: 1 });
    const second = job({ cpus: 1 });
    const held = holding({ [first.id]: { "0xwarm": 1e9 }, [second.id]: { "0xwarm": 1e9 } });
    const { assignments, unmatched } = matchJobs([warm, cold], [first, second], held);
    expect(assignments.map((x) => [x.jobId, x.provider])).toEqual([
      [first.id, "0xwarm"],
      [second.id, "0xcold"],
    ]);
    expect(unmatched).toEqual([]);
  });

  it("never gives a warm provider a job beyond its price, one that declined it, or one held by an unknown provider", () => {
    const dear = provider("0xdear", { cpuSecondWei: 1000n });
    const declined = provider("0xdeclined");
    const cold = provider("0xcold", { cpuSecondWei: 2n });
    const tight = job({ cpus: 1 }, { maxPriceWei: 60n * 999n, excluded: ["0xdeclined"] });
    const { assignments } = matchJobs([dear, declined, cold], [tight], holding({ [tight.id]: { "0xdear": 1e9, "0xdeclined": 1e9, "0xgone": 1e12 } }));
    expect(assignments.map((x) => x.provider)).toEqual(["0xcold"]);
  });

  it("still pins GPU jobs to whole, distinct GPUs on a warm host, and sends the overflow to a cold one", () => {
    const warm = provider("0xwarm", { gpus: [gpu("w0", 80_000, "x", 0), gpu("w1", 80_000, "x", 1)], gpuSecondWei: 50n });
    const cold = provider("0xcold", { gpus: [gpu("c0", 80_000)], gpuSecondWei: 1n });
    const jobs = [job({ gpus: 1 }), job({ gpus: 1 }), job({ gpus: 1 })];
    const held = holding(Object.fromEntries(jobs.map((j) => [j.id, { "0xwarm": 5e9 }])));
    const { assignments } = matchJobs([warm, cold], jobs, held);
    expect(assignments.map((x) => [x.provider, x.gpuUuids])).toEqual([
      ["0xwarm", ["w0"]],
      ["0xwarm", ["w1"]],
      ["0xcold", ["c0"]],
    ]);
    // A two-GPU job on a warm host with one GPU free goes cold whole; it is never split.
    const half = provider("0xhalf", { gpus: [gpu("h0", 80_000, "x", 0), gpu("h1", 80_000, "x", 1)], freeGpus: [gpu("h1", 80_000, "x", 1)] });
    const pair = provider("0xpair", { gpus: [gpu("p0", 80_000, "x", 0), gpu("p1", 80_000, "x", 1)], gpuSecondWei: 999n });
    const big = job({ gpus: 2 });
    expect(matchJobs([half, pair], [big], holding({ [big.id]: { "0xhalf": 5e9 } })).assignments[0]).toMatchObject({ provider: "0xpair", gpuUuids: ["p0", "p1"] });
  });
});

describe("explainNeverFits", () => {
  it("explains what no provider has, and when only the price stands in the way", () => {
    const host = provider("0xhost", { gpus: [gpu("g", 24_000, "NVIDIA A10")], cpuSecondWei: 10n });
    expect(explainNeverFits(job({ gpus: 1, gpu_vram_mb: 40_000 }), [host])).toBe("no connected provider has 1 GPU with at least 40000 MiB VRAM each, 1 CPU, 1024 MiB memory");
    expect(explainNeverFits(job({}, { maxPriceWei: 1n }), [host])).toMatch(/cheapest asks 600 wei for 60 s/);
    expect(explainNeverFits(job({}), [host])).toBeUndefined();
    expect(explainNeverFits(job({}), [])).toMatch(/no provider is connected/);
  });

  it("judges by total capacity, not what is free right now", () => {
    const busy = provider("0xbusy", { freeMilliCpus: 0, freeMemoryMb: 0 });
    expect(explainNeverFits(job({ cpus: 4 }), [busy])).toBeUndefined();
  });
});

describe("jobs that name hosts to reach", () => {
  it("go only to a provider that offers egress, even when a cheaper one without it is free; jobs without stay as they were", () => {
    const closed = provider("0xclosed", { cpuSecondWei: 1n });
    const open = provider("0xopen", { cpuSecondWei: 5n, egress: true });
    const fetching = job({}, { needsEgress: true });
    const offline = job({});
    const { assignments } = matchJobs([closed, open], [fetching, offline]);
    expect(assignments.find((a) => a.jobId === fetching.id)?.provider).toBe("0xopen");
    expect(assignments.find((a) => a.jobId === offline.id)?.provider).toBe("0xclosed");
  });

  it("wait when the only egress provider is full, though a provider without egress is free; an egress-free job of the same shape still goes", () => {
    const closed = provider("0xclosed");
    const open = provider("0xopen", { egress: true, freeMilliCpus: 0 });
    const fetching = job({}, { needsEgress: true });
    const same = job({});
    const { assignments, unmatched } = matchJobs([closed, open], [fetching, same]);
    expect(unmatched).toEqual([fetching.id]);
    expect(assignments).toEqual([expect.objectContaining({ jobId: same.id, provider: "0xclosed" })]);
  });

  it("are told why when no provider offers egress", () => {
    expect(explainNeverFits(job({}, { needsEgress: true }), [provider("0xclosed")])).toBe("no connected provider offers network egress, which this job's network.allow needs");
    expect(explainNeverFits(job({}, { needsEgress: true }), [provider("0xclosed"), provider("0xopen", { egress: true })])).toBeUndefined();
  });
});
