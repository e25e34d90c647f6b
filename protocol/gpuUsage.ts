// What a job's GPUs did while it ran, as its provider sampled them with
// nvidia-smi: utilization and memory per GPU, the way a hosted GPU service shows
// them. The provider's own report, like its run time: nothing here is proven.
import { z } from "zod";
import { jobLimits } from "./limits.ts";

/** A GPU's (or MIG slice's) UUID as nvidia-smi prints it. */
export const GPU_UUID = /^(GPU|MIG)-[0-9a-fA-F-]+$/;

const Percent = z.number().min(0).max(100);
const Span = <T extends z.ZodNumber>(value: T) => z.object({ mean: value, max: value }).strict();

export const GpuUsage = z
  .object({
    uuid: z.string().max(128).regex(GPU_UUID, "must be a GPU's UUID as nvidia-smi prints it"),
    /** How many samples the figures come from. */
    samples: z.int().min(1),
    utilization_pct: Span(Percent).meta({ description: "The share of time a kernel ran on the GPU (nvidia-smi utilization.gpu)" }),
    memory_used_mb: Span(z.number().min(0).max(10_000_000)).meta({ description: "GPU memory in use, MiB (memory.used)" }),
    power_w: Span(z.number().min(0).max(100_000)).optional().meta({ description: "Power drawn, watts, where the GPU reports it" }),
    temperature_c_max: z.number().min(-100).max(200).optional(),
  })
  .strict()
  .meta({ id: "GpuUsage" });
export type GpuUsage = z.infer<typeof GpuUsage>;

export const JobGpuUsage = z
  .object({
    /** The time between two samples. */
    interval_ms: z.int().min(1),
    gpus: z.array(GpuUsage).max(jobLimits.maxGpus),
  })
  .strict()
  .meta({ id: "JobGpuUsage" });
export type JobGpuUsage = z.infer<typeof JobGpuUsage>;
