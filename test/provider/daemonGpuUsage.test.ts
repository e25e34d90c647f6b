// A job's GPU figures in its result, through the daemon with stand-in hub and
// executor (daemonStandIns.ts) and a stand-in nvidia-smi (this machine has no
// GPU; the sampler runs it as a real process, as it runs the real binary).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { GpuSampler } from "../../provider/resources/gpuSampler.ts";
import { eventually } from "../helpers/eventually.ts";
import { accepted, daemonWith, dir, executor, hub, offer, silentOutbox, useDaemonStandIns } from "./daemonStandIns.ts";

useDaemonStandIns();

async function samplerOfStandIn(): Promise<{ sampler: GpuSampler; calls: () => Promise<number> }> {
  const path = join(dir, "nvidia-smi");
  const counter = join(dir, "nvidia-smi-calls");
  await writeFile(path, `#!/bin/sh\necho x >> ${counter}\necho "GPU-a, 75, 2048, 250.5, 65"\necho "GPU-other, 5, 100, 50, 40"\n`, { mode: 0o755 });
  const sampler = new GpuSampler({ nvidiaSmi: path, log: pino({ level: "silent" }), intervalMs: 20, firstSampleMs: 5 });
  return { sampler, calls: async () => (await readFile(counter, "utf8").catch(() => "")).split("\n").filter(Boolean).length };
}

describe("a job's GPU usage", () => {
  it("goes into the result of a job with GPUs, sampled from its container's start, for its own GPUs only", async () => {
    const { sampler, calls } = await samplerOfStandIn();
    daemonWith(silentOutbox(), { gpuSampler: sampler });
    // A job with secrets waits for the hub's start (its container is not made ahead): accepted, its GPUs held, not
    // started, nothing is sampled yet (a sample every 20 ms would have come by now).
    await accepted("job_1", { spec: { ...offer("job_1").spec, secrets: ["HF_TOKEN"] } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await calls()).toBe(0);
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_1", secrets: { HF_TOKEN: "hf_abcdef" } });
    await eventually(async () => executor.runs.length === 1);
    await eventually(async () => (await calls()) >= 3, { what: "three samples" });
    executor.runs[0]!.end("failed", "exit 1");
    const [result] = await eventually(async () => hub.of("job.result").length === 1 && hub.of("job.result"), { what: "the result" });
    const usage = result!.metrics?.gpu;
    expect(usage?.interval_ms).toBe(20);
    expect(usage?.gpus).toEqual([
      { uuid: "GPU-a", samples: expect.any(Number), utilization_pct: { mean: 75, max: 75 }, memory_used_mb: { mean: 2048, max: 2048 }, power_w: { mean: 250.5, max: 250.5 }, temperature_c_max: 65 },
    ]);
    expect(usage!.gpus[0]!.samples).toBeGreaterThanOrEqual(2);
    sampler.stop();
  });

  it("leaves a job without GPUs without figures, and runs no nvidia-smi for it", async () => {
    const { sampler, calls } = await samplerOfStandIn();
    daemonWith(silentOutbox(), { gpuSampler: sampler });
    const cpuOnly = offer("job_cpu", { gpu_uuids: [], spec: { ...offer("job_cpu").spec, resources: { gpus: 0, cpus: 1, memory_mb: 128 } } });
    hub.emit("message", cpuOnly);
    await eventually(async () => hub.of("job.accept").some((a) => a.job_id === "job_cpu"));
    hub.emit("message", { v: 1, type: "job.start", job_id: "job_cpu" });
    await eventually(async () => executor.runs.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    executor.runs[0]!.end("failed", "exit 1");
    const [result] = await eventually(async () => hub.of("job.result").length === 1 && hub.of("job.result"), { what: "the result" });
    expect(result!.metrics?.gpu).toBeUndefined();
    expect(await calls()).toBe(0);
  });
});
