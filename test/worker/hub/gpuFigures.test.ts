// What the hub keeps of a provider's GPU figures: the GPUs reserved for the job, with each mean within its peak.
import { describe, expect, it } from "vitest";
import type { GpuUsage } from "../../../protocol/gpuUsage.ts";
import { gpuFiguresOfJob } from "../../../worker/hub/gpuFigures.ts";

const figures = (uuid: string, overrides: Partial<GpuUsage> = {}): GpuUsage => ({
  uuid,
  samples: 3,
  utilization_pct: { mean: 50, max: 90 },
  memory_used_mb: { mean: 1000, max: 2000 },
  power_w: { mean: 300, max: 400 },
  ...overrides,
});

describe("gpuFiguresOfJob", () => {
  it("keeps the figures of the GPUs reserved for the job", () => {
    const usage = { interval_ms: 5_000, gpus: [figures("GPU-a"), figures("GPU-b"), figures("GPU-other")] };
    expect(gpuFiguresOfJob(usage, ["GPU-a", "GPU-b"])).toEqual({ interval_ms: 5_000, gpus: [figures("GPU-a"), figures("GPU-b")] });
  });

  it("drops a reserved GPU's figures whose mean is past its peak, in utilization, memory or power", () => {
    const bad = [
      figures("GPU-a", { utilization_pct: { mean: 91, max: 90 } }),
      figures("GPU-a", { memory_used_mb: { mean: 2001, max: 2000 } }),
      figures("GPU-a", { power_w: { mean: 401, max: 400 } }),
    ];
    for (const gpu of bad) expect(gpuFiguresOfJob({ interval_ms: 5_000, gpus: [gpu, figures("GPU-b")] }, ["GPU-a", "GPU-b"])).toEqual({ interval_ms: 5_000, gpus: [figures("GPU-b")] });
  });

  it("keeps nothing for a job without reserved GPUs, without figures, or when none holds up", () => {
    const usage = { interval_ms: 5_000, gpus: [figures("GPU-a")] };
    expect(gpuFiguresOfJob(usage, [])).toBeUndefined();
    expect(gpuFiguresOfJob(usage, undefined)).toBeUndefined();
    expect(gpuFiguresOfJob(undefined, ["GPU-a"])).toBeUndefined();
    expect(gpuFiguresOfJob(usage, ["GPU-z"])).toBeUndefined();
  });
});
