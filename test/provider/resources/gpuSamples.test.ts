// One sample of the GPUs' load, against real nvidia-smi output captured on H100
// machines while a bf16 matrix-multiply loop ran and just after it stopped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseGpuSamples } from "../../../provider/resources/gpuSamples.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../../fixtures/gpu", name), "utf8");
const capturedFields = [
  "index", "uuid", "name", "memory.total", "memory.used", "memory.free", "driver_version", "compute_cap", "utilization.gpu",
  "utilization.memory", "temperature.gpu", "power.draw", "power.limit", "clocks.sm", "clocks.max.sm", "pstate",
];

describe("parseGpuSamples", () => {
  it("reads the busy H100's load, with and without the header and units", () => {
    const busy = { uuid: "GPU-7672367b-961e-e906-7bea-2d6937309e3f", utilizationPct: 100, memoryUsedMb: 1139, temperatureC: 53 };
    expect(parseGpuSamples(fixture("h100-query-busy-noheader-nounits.csv"), capturedFields)).toEqual([{ ...busy, powerW: 698.26 }]);
    expect(parseGpuSamples(fixture("h100-query-busy.csv"))).toEqual([{ ...busy, powerW: 697.87 }]);
  });

  it("reads the idle one after the load stopped", () => {
    expect(parseGpuSamples(fixture("h100-query-idle-noheader-nounits.csv"), capturedFields)).toEqual([
      { uuid: "GPU-7672367b-961e-e906-7bea-2d6937309e3f", utilizationPct: 2, memoryUsedMb: 0, powerW: 269.56, temperatureC: 42 },
    ]);
  });

  it("reads the fields the sampler asks for, leaving out what a GPU does not report and skipping a GPU without a reading", () => {
    const csv = [
      "GPU-aaaa-1, 87, 40960, 310.5, 71",
      "GPU-bbbb-2, 12, 1024, [N/A], [N/A]",
      "GPU-cccc-3, [GPU requires reset], [GPU requires reset], [N/A], [N/A]",
      "not-a-uuid, 50, 10, 1, 1",
      "GPU-dddd-4, 101, -5, 999999, 4000",
      "",
    ].join("\n");
    expect(parseGpuSamples(csv)).toEqual([
      { uuid: "GPU-aaaa-1", utilizationPct: 87, memoryUsedMb: 40960, powerW: 310.5, temperatureC: 71 },
      { uuid: "GPU-bbbb-2", utilizationPct: 12, memoryUsedMb: 1024 },
      // Odd readings kept within what a result may carry: a share at most 100 %, no negative memory, no power or heat past any GPU's.
      { uuid: "GPU-dddd-4", utilizationPct: 100, memoryUsedMb: 0 },
    ]);
    expect(parseGpuSamples("")).toEqual([]);
  });
});
