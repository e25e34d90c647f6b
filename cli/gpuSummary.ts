// A job's GPU figures as the CLI prints them: one line a GPU, as its provider
// sampled it with nvidia-smi (the provider's report: the UUID is shown as sent, made safe for a terminal).
import type { Job } from "../protocol/job.ts";
import { terminalText } from "./terminalText.ts";

const number = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 1 });

export function describeGpus(job: Pick<Job, "metrics">): string[] {
  const usage = job.metrics.gpu;
  if (!usage) return [];
  const every = `every ${number(usage.interval_ms / 1000)} s`;
  return usage.gpus.map((gpu) => {
    const parts = [
      `utilization ${number(gpu.utilization_pct.mean)}% mean, ${number(gpu.utilization_pct.max)}% peak`,
      `memory ${number(gpu.memory_used_mb.mean)} MiB mean, ${number(gpu.memory_used_mb.max)} MiB peak`,
      ...(gpu.power_w ? [`${number(gpu.power_w.mean)} W mean`] : []),
      ...(gpu.temperature_c_max !== undefined ? [`${number(gpu.temperature_c_max)} °C peak`] : []),
    ];
    return `  gpu ${terminalText(gpu.uuid)}: ${parts.join("; ")} (${gpu.samples} sample${gpu.samples === 1 ? "" : "s"}, ${every})`;
  });
}
