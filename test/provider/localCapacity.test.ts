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
    expect(capacity.misfit({ gpus: 1, cpus: 1, memory_mb: 1024 }, ["GPU-a"])).toEqual({ reason: "GPU GPU-a is busy", busy: true });
    expect(capacity.misfit({ gpus: 1, cpus: 1, memory_mb: 1024 }, ["GPU-z"])).toEqual({ reason: "GPU GPU-z is not on this host", busy: false });
    expect(capacity.misfit({ gpus: 1, cpus: 3, memory_mb: 1024 }, ["GPU-b"])).toEqual({ reason: "not enough free CPUs", busy: true });
    expect(capacity.misfit({ gpus: 1, cpus: 1, memory_mb: 5000 }, ["GPU-b"])).toEqual({ reason: "not enough free memory", busy: true });
    expect(capacity.misfit({ gpus: 2, cpus: 1, memory_mb: 1 }, ["GPU-b"])).toEqual({ reason: "the offer names 1 GPUs for a job that needs 2", busy: false });
    capacity.release("j1");
    expect(capacity.misfit({ gpus: 2, cpus: 4, memory_mb: 8192 }, ["GPU-a", "GPU-b"])).toBeUndefined();
  });

  it("calls a misfit busy only when the job would fit once the jobs held here end", () => {
    const capacity = new LocalCapacity(host);
    // More than the whole machine: no wait makes it fit, a decline for good.
    expect(capacity.misfit({ gpus: 0, cpus: 5, memory_mb: 1024 }, [])).toEqual({ reason: "not enough free CPUs", busy: false });
    expect(capacity.misfit({ gpus: 0, cpus: 1, memory_mb: 9000 }, [])).toEqual({ reason: "not enough free memory", busy: false });
    capacity.hold("j1", { gpus: 0, cpus: 3, memory_mb: 1024 }, []);
    expect(capacity.misfit({ gpus: 0, cpus: 4, memory_mb: 1024 }, [])?.busy).toBe(true);
    expect(capacity.misfit({ gpus: 0, cpus: 1, memory_mb: 1024 }, [])).toBeUndefined();
  });
});
