import { describe, expect, it } from "vitest";
import { containerEnv, containerOptions, CONTAINER_USER, containerUserFor, shmBytes } from "../../../provider/executor/sandbox.ts";

const spec = {
  image: "ghcr.io/pond/train:1",
  cmd: ["python", "train.py"],
  env: { EPOCHS: "3" },
  resources: { gpus: 2, cpus: 3.5, memory_mb: 8192 },
  timeout_s: 60,
  max_price_wei: "1",
};

describe("containerOptions", () => {
  const options = containerOptions({ jobId: "job_1", provider: "0xabc", spec, gpuUuids: ["GPU-a", "GPU-b"], inputsDir: "/w/in", outputsDir: "/w/out" });
  const host = options.HostConfig!;

  it("locks the container down", () => {
    expect(host.NetworkMode).toBe("none");
    expect(options.NetworkDisabled).toBe(true);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.Tmpfs).toHaveProperty("/tmp");
    expect(host.CapDrop).toEqual(["ALL"]);
    expect(host.SecurityOpt).toContain("no-new-privileges:true");
    expect(host.PidsLimit).toBeGreaterThan(0);
    expect(options.User).toBe(CONTAINER_USER);
    expect(options.User).not.toMatch(/^0(:|$)/);
  });

  it("sets memory equal to memory+swap, and the CPU quota", () => {
    expect(host.Memory).toBe(8192 * 1024 * 1024);
    expect(host.MemorySwap).toBe(host.Memory);
    expect(host.NanoCpus).toBe(3_500_000_000);
  });

  it("asks for exactly the assigned GPUs by id", () => {
    expect(host.DeviceRequests).toEqual([{ Driver: "nvidia", DeviceIDs: ["GPU-a", "GPU-b"], Capabilities: [["gpu"]] }]);
    const cpuOnly = containerOptions({ jobId: "j", provider: "p", spec: { ...spec, resources: { gpus: 0, cpus: 1, memory_mb: 64 } }, gpuUuids: [], inputsDir: "/i", outputsDir: "/o" });
    expect(cpuOnly.HostConfig!.DeviceRequests).toEqual([]);
  });

  it("mounts inputs read-only and outputs writable, and labels the container", () => {
    expect(host.Binds).toEqual(["/w/in:/inputs:ro", "/w/out:/outputs:rw"]);
    expect(options.Labels).toEqual({ "dev.pond.job": "job_1", "dev.pond.provider": "0xabc" });
    expect(options.Env).toEqual(["EPOCHS=3", "NVIDIA_VISIBLE_DEVICES=GPU-a,GPU-b"]);
  });

  it("always names the visible GPUs itself: the assigned ones, or none", () => {
    const cpuOnly = containerOptions({ jobId: "j", provider: "p", spec: { ...spec, resources: { gpus: 0, cpus: 1, memory_mb: 64 } }, gpuUuids: [], inputsDir: "/i", outputsDir: "/o" });
    expect(cpuOnly.Env).toEqual(["EPOCHS=3", "NVIDIA_VISIBLE_DEVICES=void"]);
    // A creator's NVIDIA_* (refused by the protocol) never reaches the container.
    expect(containerEnv({ NVIDIA_VISIBLE_DEVICES: "all", nvidia_driver_capabilities: "all", A: "1" }, ["GPU-a"])).toEqual(["A=1", "NVIDIA_VISIBLE_DEVICES=GPU-a"]);
  });

  it("tells a job that saves checkpoints where, in a variable of Pond's that the job's own cannot replace", () => {
    const saving = containerOptions({ jobId: "j", provider: "p", spec: { ...spec, env: { POND_CHECKPOINT_DIR: "/etc" }, checkpoint: {} }, gpuUuids: [], inputsDir: "/i", outputsDir: "/o" });
    expect(saving.Env).toEqual(["POND_CHECKPOINT_DIR=/outputs/checkpoint", "NVIDIA_VISIBLE_DEVICES=void"]);
    const plain = containerOptions({ jobId: "j", provider: "p", spec, gpuUuids: [], inputsDir: "/i", outputsDir: "/o" });
    expect(plain.Env).not.toContain("POND_CHECKPOINT_DIR=/outputs/checkpoint");
  });

  it("runs as nobody under a root daemon, else as the daemon's own user", () => {
    expect(containerUserFor(0, 0)).toBe(CONTAINER_USER);
    expect(containerUserFor(1000, 1000)).toBe("1000:1000");
    expect(containerOptions({ jobId: "j", provider: "p", spec, gpuUuids: [], inputsDir: "/i", outputsDir: "/o", user: "1000:1000" }).User).toBe("1000:1000");
  });

  it("sizes shared memory for data loaders within bounds", () => {
    expect(shmBytes(8192)).toBe(4096 * 1024 * 1024);
    expect(shmBytes(64)).toBe(64 * 1024 * 1024);
    expect(shmBytes(1_000_000)).toBe(16 * 1024 * 1024 * 1024);
  });
});
