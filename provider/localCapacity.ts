// The daemon's own count of what its accepted jobs hold, so it never takes
// more than the machine has even if the hub's view were wrong.
import type { ProviderResources } from "../protocol/hubMessages.ts";
import type { Resources } from "../protocol/jobSpec.ts";

interface Holding {
  gpuUuids: readonly string[];
  cpus: number;
  memoryMb: number;
}

export class LocalCapacity {
  private readonly held = new Map<string, Holding>();

  constructor(private readonly total: ProviderResources) {}

  /** Why this job does not fit now, or undefined if it does. */
  misfit(resources: Resources, gpuUuids: readonly string[]): string | undefined {
    const known = new Set(this.total.gpus.map((gpu) => gpu.uuid));
    const busy = new Set([...this.held.values()].flatMap((h) => h.gpuUuids));
    const unknown = gpuUuids.find((uuid) => !known.has(uuid));
    if (unknown) return `GPU ${unknown} is not on this host`;
    const taken = gpuUuids.find((uuid) => busy.has(uuid));
    if (taken) return `GPU ${taken} is busy`;
    if (gpuUuids.length !== resources.gpus) return `the offer names ${gpuUuids.length} GPUs for a job that needs ${resources.gpus}`;
    const usedCpus = [...this.held.values()].reduce((sum, h) => sum + h.cpus, 0);
    const usedMemory = [...this.held.values()].reduce((sum, h) => sum + h.memoryMb, 0);
    if (usedCpus + resources.cpus > this.total.cpus + 1e-9) return "not enough free CPUs";
    if (usedMemory + resources.memory_mb > this.total.memory_mb) return "not enough free memory";
    return undefined;
  }

  /** Free GPUs that would do for these resources (smallest first), or undefined if there are not enough. */
  freeGpusFor(resources: Resources): string[] | undefined {
    const busy = new Set([...this.held.values()].flatMap((h) => h.gpuUuids));
    const fitting = this.total.gpus
      .filter((gpu) => !busy.has(gpu.uuid) && (resources.gpu_vram_mb === undefined || gpu.vram_mb >= resources.gpu_vram_mb))
      .sort((a, b) => a.vram_mb - b.vram_mb);
    return fitting.length >= resources.gpus ? fitting.slice(0, resources.gpus).map((gpu) => gpu.uuid) : undefined;
  }

  hold(jobId: string, resources: Resources, gpuUuids: readonly string[]): void {
    this.held.set(jobId, { gpuUuids, cpus: resources.cpus, memoryMb: resources.memory_mb });
  }

  release(jobId: string): void {
    this.held.delete(jobId);
  }
}
