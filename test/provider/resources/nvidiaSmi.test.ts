// Against real nvidia-smi output captured on H100 machines (test/fixtures/gpu).
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectGpus, GpuQueryError, parseGpuQuery } from "../../../provider/resources/nvidiaSmi.ts";

// Copied from the shared fixtures (../shared/fixtures/gpu) so a bare checkout carries them.
const fixtures = join(import.meta.dirname, "../../fixtures/gpu");
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8");
const busyFields = [
  "index", "uuid", "name", "memory.total", "memory.used", "memory.free", "driver_version", "compute_cap", "utilization.gpu",
  "utilization.memory", "temperature.gpu", "power.draw", "power.limit", "clocks.sm", "clocks.max.sm", "pstate",
];

describe("parseGpuQuery", () => {
  it("reads the idle H100 with header and units", () => {
    expect(parseGpuQuery(fixture("h100-query.csv"))).toEqual([
      { index: 0, uuid: "GPU-6fc3bdd4-ebac-23f2-fc23-c57a36c9d5e0", model: "NVIDIA H100 80GB HBM3", vram_mb: 81_559, driver: "580.159.04" },
    ]);
  });

  it("reads the busy H100 with header and units", () => {
    const [gpu] = parseGpuQuery(fixture("h100-query-busy.csv"));
    expect(gpu).toEqual({ index: 0, uuid: "GPU-7672367b-961e-e906-7bea-2d6937309e3f", model: "NVIDIA H100 80GB HBM3", vram_mb: 81_559, driver: "580.159.04" });
  });

  it("reads noheader,nounits output given its fields", () => {
    for (const name of ["h100-query-busy-noheader-nounits.csv", "h100-query-idle-noheader-nounits.csv"]) {
      const [gpu] = parseGpuQuery(fixture(name), busyFields);
      expect(gpu).toMatchObject({ index: 0, model: "NVIDIA H100 80GB HBM3", vram_mb: 81_559, driver: "580.159.04" });
      expect(gpu!.uuid).toMatch(/^GPU-/);
    }
  });

  it("reads several GPUs in the form Pond queries", () => {
    const csv = "0, GPU-aaaa-1, NVIDIA A100-SXM4-80GB, 81920, 550.54.15\n1, GPU-bbbb-2, NVIDIA A100-SXM4-80GB, 81920, 550.54.15\n";
    expect(parseGpuQuery(csv, ["index", "uuid", "name", "memory.total", "driver_version"]).map((g) => g.index)).toEqual([0, 1]);
  });

  it("says which value is wrong instead of guessing", () => {
    expect(() => parseGpuQuery("0, GPU-aaaa, Tesla, [N/A], 1.0", ["index", "uuid", "name", "memory.total", "driver_version"])).toThrow(/memory.total is "\[N\/A\]"/);
    expect(() => parseGpuQuery("0, GPU-aaaa, Tesla", ["index", "uuid", "name", "memory.total", "driver_version"])).toThrow(GpuQueryError);
    expect(() => parseGpuQuery("index, name\n0, x")).toThrow(/no "uuid" column/);
  });
});

describe("detectGpus", () => {
  it("offers CPUs only, saying why, when nvidia-smi prints what Pond cannot read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pond-smi-"));
    try {
      const fake = join(dir, "nvidia-smi");
      await writeFile(fake, "#!/bin/sh\necho '0, GPU-aaaa, Tesla, [N/A], 1.0'\n", { mode: 0o755 });
      const detection = await detectGpus(fake);
      expect(detection).toEqual({ kind: "none", reason: expect.stringMatching(/could not read what .*nvidia-smi reports \(nvidia-smi line 1: memory.total is "\[N\/A\]".*offering CPUs only/) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
