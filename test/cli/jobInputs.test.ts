// `pond run --input job_…[:PATH]`: which arguments are references to earlier jobs'
// outputs, and the entries (or the refusals) they become, against jobs as the API
// shows them.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inputsFromJobs, splitInputArguments } from "../../cli/dataplane/jobInputs.ts";
import type { Job } from "../../protocol/job.ts";
import { PondApiError } from "../../sdk/index.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const dir = useTempDir("job-inputs");
const spec = { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1" };
const files = [
  { path: "model.pt", size: 5, sha256: "a".repeat(64) },
  { path: "metrics.json", size: 2, sha256: "b".repeat(64) },
];
const jobs: Record<string, Partial<Job>> = {
  job_done: { status: "succeeded", output: { files, result_hash: "0x" } as Job["output"] },
  job_running: { status: "processing", output: null },
  job_broken: { status: "failed", error: "exit 3", output: null },
};
const sdk = {
  async getJob(id: string) {
    const found = jobs[id];
    if (!found) throw new PondApiError({ type: "https://pond.dev/problems/not-found", title: "Not found", status: 404, detail: "job was not found" });
    return { id, spec, ...found } as Job;
  },
};
const refs = async (...given: string[]) => (await splitInputArguments(given)).fromJobs;

describe("--input job_…", () => {
  it("takes job ids, with or without an output path, and leaves local paths (one named like a job included) as files", async () => {
    // A folder here named like a job: it is the input, not the job.
    await mkdir(join(dir(), "job_abc"));
    await writeFile(join(dir(), "job_abc", "x"), "x");
    expect(await splitInputArguments(["data.csv", "job_done:model.pt", "job_done", "job_abc"], dir())).toEqual({
      local: ["data.csv", "job_abc"],
      fromJobs: [
        { given: "job_done:model.pt", job: "job_done", output: "model.pt" },
        { given: "job_done", job: "job_done" },
      ],
    });
  });

  it("names one output, or every output of a finished job, with their sizes and sha256", async () => {
    expect(await inputsFromJobs(sdk, await refs("job_done:model.pt"))).toEqual([{ ...files[0], from: { job: "job_done", output: "model.pt" } }]);
    expect(await inputsFromJobs(sdk, await refs("job_done"))).toEqual(files.map((file) => ({ ...file, from: { job: "job_done", output: file.path } })));
    expect(await inputsFromJobs(sdk, await refs("job_running:model.pt"))).toEqual([{ path: "model.pt", from: { job: "job_running", output: "model.pt" } }]);
  });

  it("refuses, saying what to do, a job still running named whole, a failed one, a missing output and a job not found", async () => {
    await expect(inputsFromJobs(sdk, await refs("job_running"))).rejects.toThrow("--input job_running: job_running has not finished, so its outputs are not known yet; name the one you want, e.g. --input job_running:model.pt");
    await expect(inputsFromJobs(sdk, await refs("job_broken:model.pt"))).rejects.toThrow("--input job_broken:model.pt: job_broken failed (exit 3); only a succeeded job's outputs can be inputs");
    await expect(inputsFromJobs(sdk, await refs("job_done:weights.pt"))).rejects.toThrow("--input job_done:weights.pt: job_done left no output named weights.pt; its outputs: model.pt, metrics.json");
    await expect(inputsFromJobs(sdk, await refs("job_nope:model.pt"))).rejects.toThrow("--input job_nope:model.pt: there is no job job_nope of yours (and no such file or folder here)");
  });
});
