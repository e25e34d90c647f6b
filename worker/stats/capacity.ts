// What the providers online offer, summed for the network page: pure, over the
// capacity copies a matchmaker keeps (the hubs own the real figures).
import type { GpuModelCapacity, OnlineProvider } from "../../protocol/network.ts";
import type { ProviderCapacity } from "../matching/matcher.ts";

export const MAX_PROVIDERS_LISTED = 100;

export interface CapacitySummary {
  providersOnline: number;
  providers: OnlineProvider[];
  capacity: { gpus: Share; cpus: Share; memory_mb: Share };
  gpuModels: GpuModelCapacity[];
}
interface Share {
  total: number;
  free: number;
}

export function toOnlineProvider(provider: ProviderCapacity): OnlineProvider {
  const free = new Set(provider.freeGpus.map((gpu) => gpu.uuid));
  return {
    address: provider.address,
    gpus: [...provider.totalGpus].sort((a, b) => a.index - b.index).map((gpu) => ({ model: gpu.model, vram_mb: gpu.vramMb, free: free.has(gpu.uuid) })),
    cpus: { total: provider.totalMilliCpus / 1000, free: provider.freeMilliCpus / 1000 },
    memory_mb: { total: provider.totalMemoryMb, free: provider.freeMemoryMb },
  };
}

/** Largest first: most GPUs, then most CPU; the address breaks ties so the order is stable. */
function bySize(a: ProviderCapacity, b: ProviderCapacity): number {
  return b.totalGpus.length - a.totalGpus.length || b.totalMilliCpus - a.totalMilliCpus || a.address.localeCompare(b.address);
}

export function summarizeCapacity(providers: readonly ProviderCapacity[]): CapacitySummary {
  const sum = (pick: (p: ProviderCapacity) => number) => providers.reduce((total, p) => total + pick(p), 0);
  const models = new Map<string, GpuModelCapacity>();
  for (const provider of providers) {
    const free = new Set(provider.freeGpus.map((gpu) => gpu.uuid));
    for (const gpu of provider.totalGpus) {
      const key = `${gpu.model}\u0000${gpu.vramMb}`;
      const entry = models.get(key) ?? { model: gpu.model, vram_mb: gpu.vramMb, total: 0, free: 0 };
      entry.total += 1;
      if (free.has(gpu.uuid)) entry.free += 1;
      models.set(key, entry);
    }
  }
  return {
    providersOnline: providers.length,
    providers: [...providers].sort(bySize).slice(0, MAX_PROVIDERS_LISTED).map(toOnlineProvider),
    capacity: {
      gpus: { total: sum((p) => p.totalGpus.length), free: sum((p) => p.freeGpus.length) },
      cpus: { total: sum((p) => p.totalMilliCpus) / 1000, free: sum((p) => p.freeMilliCpus) / 1000 },
      memory_mb: { total: sum((p) => p.totalMemoryMb), free: sum((p) => p.freeMemoryMb) },
    },
    gpuModels: [...models.values()].sort((a, b) => b.total - a.total || b.vram_mb - a.vram_mb || a.model.localeCompare(b.model)),
  };
}
