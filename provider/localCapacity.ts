// The daemon's own count of what its accepted jobs hold, so it never takes
// more than the machine has even if the hub's view were wrong.
import type { ProviderResources } from "../protocol/hubMessages.ts";
import type { Resources } from "../protocol/jobSpec.ts";

/** Why an offer does not fit; `busy` when it would once the jobs held here end. */
export interface Misfit {
  reason: string;
  busy: boolean;
}

interface Holding {
  gpuUuids: readonly string[];
  cpus: number;
  memoryMb: number;
}

export class LocalCapacity {
  private readonly held = new Map<string, Holding>();

  constructor(private readonly total: ProviderResources) {}

  /** Why this job does not fit now, or undefined if it does. */
  misfit(resources: Resources, gpuUuids: readonly string[]): Misfit | undefined {
    const known = new Set(this.total.gpus.map((gpu) => gpu.uuid));
    const busy = new Set([...this.held.values()].flatMap((h) => h.gpuUuids));
    const unknown = gpuUuids.find((uuid) => !known.has(uuid));
    if (unknown) return { reason: `GPU ${unknown} is not on this host`, busy: false };
    if (gpuUuids.length !== resources.gpus) return { reason: `the offer names ${gpuUuids.length} GPUs for a job that needs ${resources.gpus}`, busy: false };
    const taken = gpuUuids.find((uuid) => busy.has(uuid));
    if (taken) return { reason: `GPU ${taken} is busy`, busy: true };
    const usedCpus = [...this.held.values()].reduce((sum, h) => sum + h.cpus, 0);
    const usedMemory = [...this.held.values()].reduce((sum, h) => sum + h.memoryMb, 0);
    // More than the whole machine has is a decline for good; more than is free now, for now.
    if (usedCpus + resources.cpus > this.total.cpus + 1e-9) return { reason: "not enough free CPUs", busy: resources.cpus <= this.total.cpus + 1e-9 };
    if (usedMemory + resources.memory_mb > this.total.memory_mb) return { reason: "not enough free memory", busy: resources.memory_mb <= this.total.memory_mb };
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
