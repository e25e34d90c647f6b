import { describe, expect, it } from "vitest";
import { LocalCapacity } from "../../provider/localCapacity.ts";

const host = {
  cpus: 4,
  memory_mb: 8192,
  disk_free_mb: 1000,
  gpus: [
    { index: 0, uuid: "GPU-a", model: "H100", vram_mb: 81_559 },
    { index: 1, uuid: "GPU-b", model: "H100", vram_mb: 81_559 },
  ],
};

describe("LocalCapacity", () => {
  it("accepts what fits and refuses busy GPUs, unknown GPUs, and too many CPUs", () => {
    const capacity = new LocalCapacity(host);
    expect(capacity.misfit({ gpus: 1, cpus: 2, memory_mb: 4096 }, ["GPU-a"])).toBeUndefined();
    capacity.hold("j1", { gpus: 1, cpus: 2, memory_mb: 4096 }, ["GPU-a"]);
    expect(capacity.misfit({ gpus: 1, cpus: 1, memory_mb: 1024 }, ["GPU-a"])).toMatch(/busy/);
    expect(capacity.misfit({ gpus: 1, cpus: 1, memory_mb: 1024 }, ["GPU-z"])).toMatch(/not on this host/);
    expect(capacity.misfit({ gpus: 1, cpus: 3, memory_mb: 1024 }, ["GPU-b"])).toMatch(/CPUs/);
    expect(capacity.misfit({ gpus: 1, cpus: 1, memory_mb: 5000 }, ["GPU-b"])).toMatch(/memory/);
    expect(capacity.misfit({ gpus: 2, cpus: 1, memory_mb: 1 }, ["GPU-b"])).toMatch(/names 1 GPUs/);
    capacity.release("j1");
    expect(capacity.misfit({ gpus: 2, cpus: 4, memory_mb: 8192 }, ["GPU-a", "GPU-b"])).toBeUndefined();
  });
});
