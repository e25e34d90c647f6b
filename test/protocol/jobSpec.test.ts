import { describe, expect, it } from "vitest";
import { JobSpec } from "../../protocol/jobSpec.ts";

const spec = { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 5, max_price_wei: "1" };

describe("JobSpec env", () => {
  it("accepts ordinary variables", () => {
    expect(JobSpec.safeParse({ ...spec, env: { EPOCHS: "3", CUDA_LAUNCH_BLOCKING: "1" } }).success).toBe(true);
  });

  it("refuses NVIDIA_ variables, saying why, at the variable's path", () => {
    for (const name of ["NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "nvidia_visible_devices"]) {
      const parsed = JobSpec.safeParse({ ...spec, env: { OK: "1", [name]: "all" } });
      expect(parsed.success, name).toBe(false);
      expect(parsed.error!.issues).toEqual([expect.objectContaining({ path: ["env", name], message: expect.stringMatching(/must not start with NVIDIA_: the provider sets/) })]);
    }
  });
});
