// What the CLI prints about a job's GPUs.
import { describe, expect, it } from "vitest";
import { describeGpus } from "../../cli/gpuSummary.ts";
import type { Job } from "../../protocol/job.ts";

const job = (gpu: Job["metrics"]["gpu"]) => ({ metrics: { queue_ms: null, pull_ms: null, run_ms: null, transfer: { inputs: null, outputs: null }, egress: null, gpu } }) as Pick<Job, "metrics">;

describe("describeGpus", () => {
  it("says nothing for a job without GPU figures", () => {
    expect(describeGpus(job(null))).toEqual([]);
  });

  it("prints a line a GPU: utilization and memory, mean and peak, power and heat where reported, and how many samples", () => {
    const gpus = [
      { uuid: "GPU-7672367b", samples: 12, utilization_pct: { mean: 87.46, max: 100 }, memory_used_mb: { mean: 61_000, max: 71_234 }, power_w: { mean: 612.3, max: 698.26 }, temperature_c_max: 71 },
      { uuid: "GPU-\u001b[31mred", samples: 1, utilization_pct: { mean: 3, max: 3 }, memory_used_mb: { mean: 512, max: 512 } },
    ];
    expect(describeGpus(job({ interval_ms: 5_000, gpus }))).toEqual([
      "  gpu GPU-7672367b: utilization 87.5% mean, 100% peak; memory 61,000 MiB mean, 71,234 MiB peak; 612.3 W mean; 71 °C peak (12 samples, every 5 s)",
      "  gpu GPU-\\u001b[31mred: utilization 3% mean, 3% peak; memory 512 MiB mean, 512 MiB peak (1 sample, every 5 s)",
    ]);
  });
});
