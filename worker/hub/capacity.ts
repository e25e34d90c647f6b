// A provider's free capacity: what it advertised, less what its reservations
// hold. Pure; the hub is the one authority on it, matchmakers see copies.
import type { ProviderPricing, ProviderResources } from "../../protocol/hubMessages.ts";
import type { GpuSlot, ProviderCapacity } from "../matching/matcher.ts";

export interface Reservation {
  jobId: string;
  gpuUuids: string[];
  milliCpus: number;
  memoryMb: number;
}

export function gpuSlotsOf(resources: ProviderResources): GpuSlot[] {
  return resources.gpus.map((gpu) => ({ uuid: gpu.uuid, index: gpu.index, model: gpu.model, vramMb: gpu.vram_mb }));
}

export function capacityOf(
  address: string,
  resources: ProviderResources,
  pricing: ProviderPricing,
  reputation: number,
  reservations: readonly Reservation[],
): ProviderCapacity {
  const allGpus = gpuSlotsOf(resources);
  const reservedGpus = new Set(reservations.flatMap((r) => r.gpuUuids));
  const totalMilliCpus = Math.floor(resources.cpus * 1000);
  return {
    address,
    freeGpus: allGpus.filter((gpu) => !reservedGpus.has(gpu.uuid)),
    freeMilliCpus: totalMilliCpus - reservations.reduce((sum, r) => sum + r.milliCpus, 0),
    freeMemoryMb: resources.memory_mb - reservations.reduce((sum, r) => sum + r.memoryMb, 0),
    totalGpus: allGpus,
    totalMilliCpus,
    totalMemoryMb: resources.memory_mb,
    gpuSecondWei: BigInt(pricing.gpu_second_wei),
    cpuSecondWei: BigInt(pricing.cpu_second_wei),
    reputation,
    ...(resources.egress ? { egress: true } : {}),
  };
}

/** Whether a new reservation still fits beside the ones already held: the guard against over-commit. */
export function reservationFits(capacity: ProviderCapacity, wanted: Reservation): string | undefined {
  const free = new Set(capacity.freeGpus.map((gpu) => gpu.uuid));
  const busy = wanted.gpuUuids.find((uuid) => !free.has(uuid));
  if (busy !== undefined) return `GPU ${busy} is not free`;
  if (wanted.milliCpus > capacity.freeMilliCpus) return "not enough free CPU";
  if (wanted.memoryMb > capacity.freeMemoryMb) return "not enough free memory";
  return undefined;
}
