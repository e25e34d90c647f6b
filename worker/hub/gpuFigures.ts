// What the hub keeps of a provider's GPU figures for a job: only the GPUs it
// reserved for that job, and only figures whose means are within their peaks. A
// provider's report is never proof, but it cannot show a creator GPUs their job
// never had.
import type { GpuUsage, JobGpuUsage } from "../../protocol/gpuUsage.ts";

const consistent = (gpu: GpuUsage) =>
  gpu.utilization_pct.mean <= gpu.utilization_pct.max && gpu.memory_used_mb.mean <= gpu.memory_used_mb.max && (!gpu.power_w || gpu.power_w.mean <= gpu.power_w.max);

/** None when nothing is left (no GPU reserved here, or none of the figures hold up). */
export function gpuFiguresOfJob(usage: JobGpuUsage | undefined, reservedGpus: readonly string[] | undefined): JobGpuUsage | undefined {
  if (!usage || !reservedGpus?.length) return undefined;
  const gpus = usage.gpus.filter((gpu) => reservedGpus.includes(gpu.uuid) && consistent(gpu));
  return gpus.length > 0 ? { ...usage, gpus } : undefined;
}
