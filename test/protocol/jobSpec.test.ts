import { describe, expect, it } from "vitest";
import { creatorInputFiles, JobSpec, overlappingInputPaths, resolvedInputFiles, sourceJobsOf } from "../../protocol/jobSpec.ts";
import { jobLimits } from "../../protocol/limits.ts";

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

describe("input_files", () => {
  const file = { path: "data/a.bin", size: 10, sha256: "a".repeat(64) };
  it("takes files named by path, size and sha256", () => {
    expect(JobSpec.safeParse({ ...spec, input_files: [file] }).success).toBe(true);
  });

  it("refuses a repeated path, a bad sha256 and more bytes than the bound", () => {
    expect(JobSpec.safeParse({ ...spec, input_files: [file, file] }).success).toBe(false);
    expect(JobSpec.safeParse({ ...spec, input_files: [{ ...file, sha256: "XYZ" }] }).success).toBe(false);
    expect(JobSpec.safeParse({ ...spec, input_files: [{ ...file, size: jobLimits.maxInputFilesBytes }, { ...file, path: "b" }] }).success).toBe(false);
  });

  it("names the paths that clash with inline inputs, a folder holding one included", () => {
    const inline = [{ path: "data", data_base64: "" }, { path: "x.txt", data_base64: "" }];
    expect(overlappingInputPaths({ inputs: inline, input_files: [file, { ...file, path: "x.txt" }, { ...file, path: "y.txt" }] })).toEqual(["data/a.bin", "x.txt"]);
    expect(overlappingInputPaths({ input_files: [file] })).toEqual([]);
  });
});

describe("input_files from another job's outputs", () => {
  const from = { job: "job_3k9x0000000000000000000000", output: "model.pt" };
  const pinned = { path: "model.pt", size: 10, sha256: "a".repeat(64), from };

  it("takes an entry naming a job's output, with its size and sha256 or, while that job runs, without", () => {
    expect(JobSpec.safeParse({ ...spec, input_files: [pinned] }).success).toBe(true);
    expect(JobSpec.safeParse({ ...spec, input_files: [{ path: "model.pt", from }] }).success).toBe(true);
  });

  it("refuses half a pin, a file of the creator's without one, and a source that is not a job id, each at its path", () => {
    const issues = (input_files: unknown[]) => JobSpec.safeParse({ ...spec, input_files }).error?.issues.map((issue) => issue.path.join("."));
    expect(issues([{ path: "model.pt", size: 10, from }])).toEqual(["input_files.0.sha256"]);
    expect(issues([{ path: "data.csv", sha256: "a".repeat(64) }])).toEqual(["input_files.0.size"]);
    expect(issues([{ path: "model.pt", from: { job: "../etc", output: "model.pt" } }])).toEqual(["input_files.0.from.job"]);
    expect(issues([{ path: "model.pt", from: { job: from.job, output: "../model.pt" } }])).toEqual(["input_files.0.from.output"]);
  });

  it("tells the creator's files from other jobs', and names each source job once", () => {
    const own = { path: "data.csv", size: 1, sha256: "b".repeat(64) };
    const files = [own, pinned, { path: "other.pt", from }];
    expect(creatorInputFiles(files)).toEqual([own]);
    expect(sourceJobsOf({ input_files: files })).toEqual([from.job]);
    expect(() => resolvedInputFiles({ input_files: files })).toThrow(/input file "other.pt" has no size and sha256 \(its job job_3k9x0+ had not finished\)/);
    expect(resolvedInputFiles({ input_files: [own, pinned] })).toEqual([own, pinned]);
  });
});
