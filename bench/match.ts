// `npm run bench:match`: the pure matcher with 10,000 providers and 100,000
// queued jobs, in assignments per second, beside a naive first-fit scan of
// the same workload (same process, same data) as the baseline; and again with
// part of the jobs' images held warm by some providers (tried first).
import { performance } from "node:perf_hooks";
import type { Resources } from "../protocol/jobSpec.ts";
import { matchJobs, milliCpusOf, rateFor, type GpuSlot, type ProviderCapacity, type QueuedJob, type SavedBytes } from "../worker/matching/matcher.ts";
import { printTable, seededRandom, writeReport } from "./lib/report.ts";

const PROVIDERS = 10_000;
const JOBS = 100_000;
const BASELINE_JOBS = 10_000;
const GOAL = 50_000;
/** The warm run: this share of jobs pins one of WARM_IMAGES images, each held by WARM_HOLDERS providers. */
const WARM_SHARE = 0.3;
const WARM_IMAGES = 50;
const WARM_HOLDERS = 200;

const models: Array<[string, number]> = [
  ["NVIDIA H100 80GB HBM3", 81_559],
  ["NVIDIA A100-SXM4-80GB", 81_920],
  ["NVIDIA A100-PCIE-40GB", 40_960],
  ["NVIDIA L40S", 46_068],
  ["NVIDIA RTX 4090", 24_564],
  ["NVIDIA A10", 24_576],
];

function workload(seed: number) {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const providers: ProviderCapacity[] = Array.from({ length: PROVIDERS }, (_, i) => {
    const gpuCount = random() < 0.2 ? 0 : pick([1, 1, 2, 4, 8]);
    const [model, vram] = pick(models);
    const gpus: GpuSlot[] = Array.from({ length: gpuCount }, (_, index) => ({ uuid: `GPU-${i}-${index}`, index, model, vramMb: vram }));
    const milliCpus = pick([4, 8, 16, 32, 64]) * 1000;
    const memoryMb = pick([16, 32, 64, 128, 256]) * 1024;
    return {
      address: `0x${i.toString(16).padStart(40, "0")}`,
      freeGpus: gpus,
      totalGpus: gpus,
      freeMilliCpus: milliCpus,
      totalMilliCpus: milliCpus,
      freeMemoryMb: memoryMb,
      totalMemoryMb: memoryMb,
      gpuSecondWei: BigInt(Math.floor(random() * 1_000_000) + 1),
      cpuSecondWei: BigInt(Math.floor(random() * 10_000) + 1),
      reputation: Math.floor(random() * 5),
    };
  });
  const jobs: QueuedJob[] = Array.from({ length: JOBS }, (_, i) => {
    const gpus = random() < 0.3 ? 0 : pick([1, 1, 1, 2, 4]);
    const resources: Resources = {
      gpus,
      cpus: pick([0.5, 1, 2, 4]),
      memory_mb: pick([1, 2, 4, 8, 16]) * 1024,
      ...(gpus > 0 && random() < 0.6 ? { gpu_vram_mb: pick([16_000, 24_000, 40_000, 80_000]) } : {}),
      ...(gpus > 0 && random() < 0.2 ? { gpu_models: [pick(models)[0].split(" ")[1]!] } : {}),
    };
    return { id: `job${i}`, resources, maxPriceWei: BigInt(Math.floor(random() * 1e12)), timeoutS: pick([60, 600, 3600]), matchDeadline: Number.MAX_SAFE_INTEGER };
  });
  return { providers, jobs };
}

/** The obvious matcher: for each job, scan every provider for the best that fits. */
function naiveMatch(providerList: readonly ProviderCapacity[], jobs: readonly QueuedJob[]): number {
  const providers = providerList.map((p) => ({ ...p, freeGpus: [...p.freeGpus] }));
  let assigned = 0;
  for (const job of jobs) {
    const r = job.resources;
    let best: (typeof providers)[number] | undefined;
    let bestGpus: GpuSlot[] = [];
    let bestRate = 0n;
    for (const p of providers) {
      if (p.freeMilliCpus < milliCpusOf(r) || p.freeMemoryMb < r.memory_mb) continue;
      const fitting = p.freeGpus.filter((g) => (r.gpu_vram_mb === undefined || g.vramMb >= r.gpu_vram_mb) && (r.gpu_models === undefined || r.gpu_models.some((m) => g.model.toLowerCase().includes(m.toLowerCase()))));
      if (fitting.length < r.gpus) continue;
      const rate = rateFor(r, p);
      if (rate * BigInt(job.timeoutS) > job.maxPriceWei) continue;
      if (!best || p.reputation > best.reputation || (p.reputation === best.reputation && rate < bestRate)) {
        best = p;
        bestGpus = fitting.slice(0, r.gpus);
        bestRate = rate;
      }
    }
    if (!best) continue;
    const taken = new Set(bestGpus.map((g) => g.uuid));
    best.freeGpus = best.freeGpus.filter((g) => !taken.has(g.uuid));
    best.freeMilliCpus -= milliCpusOf(r);
    best.freeMemoryMb -= r.memory_mb;
    assigned++;
  }
  return assigned;
}

const { providers, jobs } = workload(42);
matchJobs(providers, jobs.slice(0, 5_000)); // warm up the JIT

const runs: Array<{ seconds: number; assignments: number }> = [];
for (let run = 0; run < 3; run++) {
  const started = performance.now();
  const result = matchJobs(providers, jobs);
  runs.push({ seconds: (performance.now() - started) / 1000, assignments: result.assignments.length });
}
const best = runs.reduce((a, b) => (a.seconds < b.seconds ? a : b));
const pondRate = best.assignments / best.seconds;

const baselineJobs = jobs.slice(0, BASELINE_JOBS);
const pondSubsetStart = performance.now();
const pondSubset = matchJobs(providers, baselineJobs).assignments.length;
const pondSubsetRate = pondSubset / ((performance.now() - pondSubsetStart) / 1000);
const naiveStart = performance.now();
const naiveAssigned = naiveMatch(providers, baselineJobs);
const naiveRate = naiveAssigned / ((performance.now() - naiveStart) / 1000);

/** The matchmaker's index (worker/matching/warmStore.ts) as plain maps: its SQL lookups, once per key a round, are not in this figure. */
function warmWorkload(seed: number): { warmJobs: QueuedJob[]; savedBytes: SavedBytes } {
  const random = seededRandom(seed);
  const holders = Array.from({ length: WARM_IMAGES }, () => new Map(Array.from({ length: WARM_HOLDERS }, () => [providers[Math.floor(random() * PROVIDERS)]!.address, 1e9 + Math.floor(random() * 4e9)] as const)));
  const warmJobs = jobs.map((job) => (random() < WARM_SHARE ? { ...job, warm: { image: `sha256:${String(Math.floor(random() * WARM_IMAGES)).padStart(64, "0")}` } } : job));
  return { warmJobs, savedBytes: (job) => (job.warm?.image ? holders[Number(job.warm.image.slice(7))] : undefined) };
}
const { warmJobs, savedBytes } = warmWorkload(7);
const warmRuns: Array<{ seconds: number; assignments: number; onHolder: number; warmAssigned: number }> = [];
for (let run = 0; run < 3; run++) {
  const started = performance.now();
  const result = matchJobs(providers, warmJobs, savedBytes);
  const seconds = (performance.now() - started) / 1000;
  const byId = new Map(warmJobs.map((job) => [job.id, job]));
  const warmAssigned = result.assignments.filter((a) => byId.get(a.jobId)!.warm);
  const onHolder = warmAssigned.filter((a) => savedBytes(byId.get(a.jobId)!)!.has(a.provider)).length;
  warmRuns.push({ seconds, assignments: result.assignments.length, onHolder, warmAssigned: warmAssigned.length });
}
const bestWarm = warmRuns.reduce((a, b) => (a.seconds < b.seconds ? a : b));

printTable(
  `Matcher: ${PROVIDERS.toLocaleString("en-US")} providers`,
  ["run", "jobs", "assignments", "seconds", "assignments/s"],
  [
    ["pond matcher (best of 3)", JOBS, best.assignments, best.seconds, pondRate],
    ["pond matcher", BASELINE_JOBS, pondSubset, BASELINE_JOBS / pondSubsetRate, pondSubsetRate],
    ["naive scan (baseline)", BASELINE_JOBS, naiveAssigned, naiveAssigned / naiveRate, naiveRate],
    [`pond matcher, ${WARM_SHARE * 100}% of jobs' images warm on ${WARM_HOLDERS} providers each (best of 3)`, JOBS, bestWarm.assignments, bestWarm.seconds, bestWarm.assignments / bestWarm.seconds],
  ],
);
console.log(`\nwarm run: ${bestWarm.onHolder.toLocaleString("en-US")} of ${bestWarm.warmAssigned.toLocaleString("en-US")} assigned warm jobs went to a provider holding their image; ${((bestWarm.assignments / bestWarm.seconds) / pondRate).toFixed(2)}× the plain run's rate`);
console.log(`\nspeed-up over the naive scan on ${BASELINE_JOBS.toLocaleString("en-US")} jobs: ${(pondSubsetRate / naiveRate).toFixed(1)}×`);
console.log(`goal ≥ ${GOAL.toLocaleString("en-US")} assignments/s: ${pondRate >= GOAL ? "met" : "NOT met"} (${Math.round(pondRate).toLocaleString("en-US")}/s)`);
const path = await writeReport("match", { providers: PROVIDERS, jobs: JOBS, runs, pondRate, baseline: { jobs: BASELINE_JOBS, pondSubset, pondSubsetRate, naiveAssigned, naiveRate }, warm: { share: WARM_SHARE, images: WARM_IMAGES, holders: WARM_HOLDERS, runs: warmRuns }, goal: GOAL });
console.log(`report: ${path}`);
