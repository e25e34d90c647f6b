// The matcher: pure. Given providers' free capacity and a FIFO of queued jobs it
// assigns each job to the provider that fits it and saves it the most bytes
// (its image or inputs already there), else to the most reputable, then
// cheapest provider that fits, never over-committing a GPU, a CPU or a
// megabyte. The Matchmaker Durable Object only feeds it and carries out what it decides.
import type { Resources } from "../../protocol/jobSpec.ts";

export interface GpuSlot {
  uuid: string;
  index: number;
  model: string;
  vramMb: number;
}

export interface ProviderCapacity {
  address: string;
  /** GPUs not reserved by any job. */
  freeGpus: GpuSlot[];
  freeMilliCpus: number;
  freeMemoryMb: number;
  /** Everything the host has, reserved or not: what it could ever run. */
  totalGpus: GpuSlot[];
  totalMilliCpus: number;
  totalMemoryMb: number;
  gpuSecondWei: bigint;
  cpuSecondWei: bigint;
  reputation: number;
  /** Takes jobs with a network allowlist (its daemon runs an egress proxy). */
  egress?: boolean;
}

export interface QueuedJob {
  id: string;
  resources: Resources;
  maxPriceWei: bigint;
  timeoutS: number;
  /** Epoch ms after which the job fails for want of capacity. */
  matchDeadline: number;
  /** Providers that declined or let this job's offer expire. */
  excluded?: readonly string[];
  /** What a provider may already hold for this job: its image, pinned by digest, and its biggest input files. */
  warm?: WarmKeys;
  /** Its spec names hosts to reach: only a provider that offers egress may take it. */
  needsEgress?: boolean;
}

export interface WarmKeys {
  /** The image's digest (sha256:…), when the spec pins it. */
  image?: string;
  inputs?: ReadonlyArray<{ sha256: string; size: number }>;
}

/** Whether a provider has room now for a job of the kind (GPU or not) being matched. */
export type HasRoom = (address: string) => boolean;

/**
 * Bytes each provider already holds for a job (image layers, cached inputs), by address; none when
 * no provider holds any. Only holders `hasRoom` accepts need be listed: busy ones would only be passed
 * over (matchJobs always gives it). Jobs with the same keys and `hasRoom` should get the same map: its
 * holders are ranked once a round.
 */
export type SavedBytes = (job: QueuedJob, hasRoom?: HasRoom) => ReadonlyMap<string, number> | undefined;

export interface Assignment {
  jobId: string;
  provider: string;
  gpuUuids: string[];
  milliCpus: number;
  memoryMb: number;
  rateWeiPerSecond: bigint;
  /** The most the provider may claim: the rate over the whole timeout, within max_price_wei. */
  maxAmountWei: bigint;
}

export interface MatchResult {
  assignments: Assignment[];
  unmatched: string[];
}

const MIN_MILLI_CPUS = 100;
const MIN_MEMORY_MB = 16;

export function milliCpusOf(resources: Resources): number {
  return Math.ceil(resources.cpus * 1000);
}

/** Wei per second a provider charges for a job: per GPU, plus per CPU core (in thousandths). */
export function rateFor(resources: Resources, provider: Pick<ProviderCapacity, "gpuSecondWei" | "cpuSecondWei">): bigint {
  const cpuPart = (BigInt(milliCpusOf(resources)) * provider.cpuSecondWei + 999n) / 1000n;
  return BigInt(resources.gpus) * provider.gpuSecondWei + cpuPart;
}

function gpuMatches(gpu: GpuSlot, resources: Resources): boolean {
  if (resources.gpu_vram_mb !== undefined && gpu.vramMb < resources.gpu_vram_mb) return false;
  if (resources.gpu_models === undefined) return true;
  const model = gpu.model.toLowerCase();
  return resources.gpu_models.some((wanted) => model.includes(wanted.toLowerCase()));
}

/** The GPUs a job would get from these: the smallest that qualify, so big ones stay free for big jobs. */
function pickGpus(gpus: readonly GpuSlot[], resources: Resources): GpuSlot[] | undefined {
  if (resources.gpus === 0) return [];
  const fitting = gpus.filter((gpu) => gpuMatches(gpu, resources));
  if (fitting.length < resources.gpus) return undefined;
  return fitting.sort((a, b) => a.vramMb - b.vramMb || a.index - b.index).slice(0, resources.gpus);
}

export function hardwareFits(p: { gpus: readonly GpuSlot[]; milliCpus: number; memoryMb: number }, resources: Resources): boolean {
  return p.milliCpus >= milliCpusOf(resources) && p.memoryMb >= resources.memory_mb && pickGpus(p.gpus, resources) !== undefined;
}

/** A doubly linked list over provider indices, in preference order, that drops exhausted providers in O(1). */
class PreferenceList {
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly linked: Uint8Array;
  head: number;

  constructor(order: readonly number[], size: number) {
    this.next = new Int32Array(size).fill(-1);
    this.prev = new Int32Array(size).fill(-1);
    this.head = order[0] ?? -1;
    for (let i = 0; i < order.length; i++) {
      if (i > 0) this.prev[order[i]!] = order[i - 1]!;
      if (i < order.length - 1) this.next[order[i]!] = order[i + 1]!;
    }
    this.linked = new Uint8Array(size);
    for (const index of order) this.linked[index] = 1;
  }

  after(index: number): number {
    return this.next[index]!;
  }

  has(index: number): boolean {
    return this.linked[index] === 1;
  }

  remove(index: number): void {
    if (!this.linked[index]) return;
    this.linked[index] = 0;
    const before = this.prev[index]!;
    const after = this.next[index]!;
    if (before >= 0) this.next[before] = after;
    else this.head = after;
    if (after >= 0) this.prev[after] = before;
  }
}

/**
 * Where a provider falls among its equals (same reputation and price) this round: a hash of its
 * address and the round's seed. By address alone, every round sent its jobs to the same lowest
 * address until it was full, and so every job through that provider's one hub.
 */
function tieOrder(address: string, seed: number): number {
  // FNV-1a over the address, then the seed mixed in with murmur3's finalizer, whose avalanche
  // gives every seed an unrelated order (FNV alone ranked addresses that differ in one character alike).
  let hash = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) hash = Math.imul(hash ^ address.charCodeAt(i), 0x01000193);
  hash ^= seed;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/** Provider indices by reputation (highest first), then by the price keys (lowest first), then the round's tie order. */
function byPreference(providers: readonly ProviderCapacity[], priceKeys: (p: ProviderCapacity) => bigint[], ties: Uint32Array) {
  const keys = providers.map(priceKeys);
  return providers
    .map((_, index) => index)
    .sort((a, b) => {
      const pa = providers[a]!;
      const pb = providers[b]!;
      if (pa.reputation !== pb.reputation) return pb.reputation - pa.reputation;
      const ka = keys[a]!;
      const kb = keys[b]!;
      for (let k = 0; k < ka.length; k++) if (ka[k] !== kb[k]) return ka[k]! < kb[k]! ? -1 : 1;
      if (ties[a] !== ties[b]) return ties[a]! - ties[b]!;
      return pa.address < pb.address ? -1 : pa.address > pb.address ? 1 : 0;
    });
}

function shapeKey(job: QueuedJob): string {
  const r = job.resources;
  return `${r.gpus}|${r.gpu_vram_mb ?? ""}|${r.gpu_models?.join(",") ?? ""}|${milliCpusOf(r)}|${r.memory_mb}|${job.timeoutS}|${job.needsEgress ? "egress" : ""}`;
}

/** A map's holders in the order they are tried, and how many at its head are known to be full. */
interface RankedHolders {
  order: number[];
  start: number;
}

/** Each index's place in an order: a lower rank is preferred. */
function ranks(order: readonly number[], size: number): Int32Array {
  const rank = new Int32Array(size);
  order.forEach((index, place) => (rank[index] = place));
  return rank;
}

/**
 * Assigns jobs, in order, to providers. Preference: among providers that fit the job
 * now (and its price), the one that holds the most of its bytes (`savedBytes`); then
 * reputation, then price (GPU rate, then CPU rate). A warm provider that does not fit
 * now is passed over at once, never waited for. Providers equal in all of that are taken in an
 * order `tieSeed` shuffles: a new seed each round spreads jobs over them (and over their hubs).
 * Capacities are copied, never mutated in place.
 */
export function matchJobs(providerList: readonly ProviderCapacity[], jobList: readonly QueuedJob[], savedBytes?: SavedBytes, tieSeed = 0): MatchResult {
  const providers = providerList.map((p) => ({ ...p, freeGpus: [...p.freeGpus] }));
  const ties = Uint32Array.from(providers, (p) => tieOrder(p.address, tieSeed));
  // Each order only for a round with jobs of its kind: a matchmaker serves one job class (bindings/sharding.ts),
  // so the other sort of every provider (a thousand of them, twenty rounds a second) was wasted.
  const gpuOrder = jobList.some((job) => job.resources.gpus > 0) ? byPreference(providers, (p) => [p.gpuSecondWei, p.cpuSecondWei], ties) : [];
  const cpuOrder = jobList.some((job) => job.resources.gpus === 0) ? byPreference(providers, (p) => [p.cpuSecondWei], ties) : [];
  // Only for a round with warm holders to rank: a round without pays nothing for them.
  const warm = savedBytes && {
    indexOf: new Map(providers.map((p, index) => [p.address, index])),
    gpuRank: ranks(gpuOrder, providers.length),
    cpuRank: ranks(cpuOrder, providers.length),
    /** Each map's holders as indices, most bytes first, then by rank: sorted once a round per map (and per kind of list). */
    ranked: { gpu: new WeakMap<ReadonlyMap<string, number>, RankedHolders>(), cpu: new WeakMap<ReadonlyMap<string, number>, RankedHolders>() },
  };
  const holdersOf = (saved: ReadonlyMap<string, number>, gpu: boolean): RankedHolders => {
    const cache = gpu ? warm!.ranked.gpu : warm!.ranked.cpu;
    let holders = cache.get(saved);
    if (!holders) {
      const rank = gpu ? warm!.gpuRank : warm!.cpuRank;
      const held: Array<[index: number, bytes: number]> = [];
      for (const [address, bytes] of saved) {
        const index = warm!.indexOf.get(address);
        if (index !== undefined) held.push([index, bytes]);
      }
      holders = { order: held.sort((a, b) => b[1] - a[1] || rank[a[0]]! - rank[b[0]]!).map(([index]) => index), start: 0 };
      cache.set(saved, holders);
    }
    return holders;
  };
  const withGpu = new PreferenceList(gpuOrder.filter((i) => providers[i]!.freeGpus.length > 0), providers.length);
  const withCpu = new PreferenceList(
    cpuOrder.filter((i) => providers[i]!.freeMilliCpus >= MIN_MILLI_CPUS && providers[i]!.freeMemoryMb >= MIN_MEMORY_MB),
    providers.length,
  );
  // One predicate per list, the same all round: a provider it turns down now has no room for the rest of the round.
  const roomIn = (list: PreferenceList): HasRoom => (address) => {
    const index = warm!.indexOf.get(address);
    return index !== undefined && list.has(index);
  };
  const hasRoom = warm && { gpu: roomIn(withGpu), cpu: roomIn(withCpu) };
  // Capacity only shrinks during a round, so a shape that found no home at some
  // price finds none at that price or less for the rest of the round.
  const failedAtPrice = new Map<string, bigint>();
  const assignments: Assignment[] = [];
  const unmatched: string[] = [];

  for (const job of jobList) {
    const resources = job.resources;
    const key = job.excluded?.length ? undefined : shapeKey(job);
    const failedPrice = key === undefined ? undefined : failedAtPrice.get(key);
    if (failedPrice !== undefined && job.maxPriceWei <= failedPrice) {
      unmatched.push(job.id);
      continue;
    }
    const milliCpus = milliCpusOf(resources);
    const list = resources.gpus > 0 ? withGpu : withCpu;
    /** The job on provider `i`, if it fits there now at its price; its capacity is then taken. */
    const tryProvider = (i: number): Assignment | undefined => {
      const p = providers[i]!;
      if (p.freeMilliCpus < milliCpus || p.freeMemoryMb < resources.memory_mb) return undefined;
      if (job.excluded?.includes(p.address)) return undefined;
      if (job.needsEgress && !p.egress) return undefined;
      const rate = rateFor(resources, p);
      const maxAmount = rate * BigInt(job.timeoutS);
      if (maxAmount > job.maxPriceWei) return undefined;
      const gpus = pickGpus(p.freeGpus, resources);
      if (!gpus) return undefined;

      const taken = new Set(gpus.map((g) => g.uuid));
      p.freeGpus = p.freeGpus.filter((g) => !taken.has(g.uuid));
      p.freeMilliCpus -= milliCpus;
      p.freeMemoryMb -= resources.memory_mb;
      if (p.freeGpus.length === 0) withGpu.remove(i);
      if (p.freeMilliCpus < MIN_MILLI_CPUS || p.freeMemoryMb < MIN_MEMORY_MB) {
        withCpu.remove(i);
        withGpu.remove(i);
      }
      return {
        jobId: job.id,
        provider: p.address,
        gpuUuids: gpus.map((g) => g.uuid),
        milliCpus,
        memoryMb: resources.memory_mb,
        rateWeiPerSecond: rate,
        maxAmountWei: maxAmount,
      };
    };
    let chosen: Assignment | undefined;
    const saved = hasRoom && savedBytes!(job, resources.gpus > 0 ? hasRoom.gpu : hasRoom.cpu);
    if (saved && saved.size > 0) {
      // The providers that hold some of its bytes, most bytes first, then as the usual order has them.
      const holders = holdersOf(saved, resources.gpus > 0);
      // A holder that left the list is full for the rest of the round: later jobs start past it.
      while (holders.start < holders.order.length && !list.has(holders.order[holders.start]!)) holders.start++;
      for (let k = holders.start; !chosen && k < holders.order.length; k++) if (list.has(holders.order[k]!)) chosen = tryProvider(holders.order[k]!);
    }
    for (let i = list.head; !chosen && i >= 0; i = list.after(i)) chosen = tryProvider(i);
    if (chosen) assignments.push(chosen);
    else {
      unmatched.push(job.id);
      if (key !== undefined && (failedPrice === undefined || job.maxPriceWei > failedPrice)) failedAtPrice.set(key, job.maxPriceWei);
    }
  }
  return { assignments, unmatched };
}

function describeNeed(resources: Resources): string {
  const parts: string[] = [];
  if (resources.gpus > 0) {
    let gpus = `${resources.gpus} GPU${resources.gpus > 1 ? "s" : ""}`;
    if (resources.gpu_vram_mb !== undefined) gpus += ` with at least ${resources.gpu_vram_mb} MiB VRAM each`;
    if (resources.gpu_models !== undefined) gpus += ` of model ${resources.gpu_models.join(" or ")}`;
    parts.push(gpus);
  }
  parts.push(`${resources.cpus} CPU${resources.cpus === 1 ? "" : "s"}`, `${resources.memory_mb} MiB memory`);
  return parts.join(", ");
}

/**
 * Why no connected provider could ever run this job, even idle, or undefined
 * when one could (the job then only waits for capacity to free up).
 */
export function explainNeverFits(job: QueuedJob, providers: readonly ProviderCapacity[]): string | undefined {
  if (providers.length === 0) return "no provider is connected that serves this kind of job";
  const offering = job.needsEgress ? providers.filter((p) => p.egress) : providers;
  if (offering.length === 0) return "no connected provider offers network egress, which this job's network.allow needs";
  const hardware = offering.filter((p) =>
    hardwareFits({ gpus: p.totalGpus, milliCpus: p.totalMilliCpus, memoryMb: p.totalMemoryMb }, job.resources),
  );
  if (hardware.length === 0) return `no connected provider has ${describeNeed(job.resources)}`;
  const quotes = hardware.map((p) => rateFor(job.resources, p) * BigInt(job.timeoutS));
  const cheapest = quotes.reduce((a, b) => (a < b ? a : b));
  if (cheapest > job.maxPriceWei) {
    return `every provider that fits charges more than max_price_wei: the cheapest asks ${cheapest} wei for ${job.timeoutS} s`;
  }
  return undefined;
}
