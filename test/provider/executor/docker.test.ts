// The executor against the real Docker engine: the output cap on a size-limited
// filesystem (and its fallback, a watched folder), a process killed for memory
// in a job that exits 0, and a container an earlier daemon left, seen through.
import { lstat, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { DockerExecutor, type RunResult } from "../../../provider/executor/docker.ts";
import { folderUsage } from "../../../provider/executor/outputWatcher.ts";
import { OUTPUT_SLACK_BYTES, outputVolumeOf, VOLUME_SIZE_TOLERANCE, prepareOutputs, probeOutputFilesystem } from "../../../provider/executor/outputVolume.ts";
import { containerOptions } from "../../../provider/executor/sandbox.ts";
import { docker, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const tempDir = useTempDir("executor");
const CAP = 8 * 1024 * 1024;
const provider = `0xtest${process.pid}`;
const support = await probeOutputFilesystem(process.env.TMPDIR ?? "/tmp");
const log = pino({ level: "silent" });
const executors: Array<{ executor: DockerExecutor; workDir: string; result?: RunResult }> = [];

function executorFor(outputVolume: "filesystem" | "folder") {
  return new DockerExecutor(docker, log, { pullPolicy: "never", provider, maxOutputBytes: CAP, outputVolume });
}
const spec = (cmd: string, overrides = {}) => ({ image: TEST_IMAGE, cmd: ["sh", "-c", cmd], resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1", ...overrides });
const hooks = (logs: string[] = []) => ({ onPhase: () => undefined, onLog: (chunk: string) => void logs.push(chunk) });

async function run(outputVolume: "filesystem" | "folder", cmd: string, logs?: string[]) {
  const executor = executorFor(outputVolume);
  const workDir = join(tempDir(), "job_1");
  const entry: (typeof executors)[number] = { executor, workDir };
  executors.push(entry);
  entry.result = await executor.run({ jobId: "job_1", spec: spec(cmd), gpuUuids: [], workDir }, hooks(logs), new AbortController().signal);
  return { ...entry, result: entry.result };
}

afterEach(async () => {
  for (const { executor, workDir, result } of executors.splice(0)) await executor.dispose(workDir, result?.containerId);
});

describe("the output cap", () => {
  it.skipIf(support.kind !== "filesystem")("on a size-limited /outputs: a job writing without end leaves at most the cap and a small constant, and fails saying so", async () => {
    const { result, workDir } = await run("filesystem", "while true; do head -c 1048576 /dev/zero >> /outputs/huge.bin; done");
    expect(result.outcome).toBe("failed");
    expect(result.error).toMatch(new RegExp(`the job wrote more than ${CAP} bytes to /outputs`));
    // What is on the provider's disk: the job's files, and the blocks the volume's image holds.
    const written = (await folderUsage(result.outputsDir)).bytes;
    const imageBytes = (await stat(join(workDir, "outputs.img"))).blocks * 512;
    console.log(`size-limited /outputs: cap ${CAP} B, job's files ${written} B, image on disk ${imageBytes} B`);
    expect(written).toBeGreaterThan(CAP);
    expect(written).toBeLessThanOrEqual(CAP + OUTPUT_SLACK_BYTES + VOLUME_SIZE_TOLERANCE);
    expect(imageBytes).toBeLessThanOrEqual(CAP + OUTPUT_SLACK_BYTES + VOLUME_SIZE_TOLERANCE + 2 * 1024 * 1024);
  });

  it.skipIf(support.kind !== "filesystem")("unmounts and removes the volume when the job is disposed of", async () => {
    const { executor, workDir, result } = await run("filesystem", "echo kept > /outputs/kept.txt");
    expect(result.outcome).toBe("succeeded");
    expect(await outputVolumeOf(workDir)).toBe("filesystem");
    await executor.dispose(workDir, result.containerId);
    expect(await outputVolumeOf(workDir)).toBe("folder");
    await expect(lstat(join(workDir, "outputs.img"))).rejects.toThrow();
  });

  it("in a plain folder (no root or no loop device): the watch stops a fast writer and the job fails saying so", async () => {
    const { result } = await run("folder", "while true; do head -c 1048576 /dev/zero >> /outputs/huge.bin; done");
    expect(result.outcome).toBe("failed");
    expect(result.error).toMatch(new RegExp(`the job wrote more than ${CAP} bytes to /outputs`));
    console.log(`watched folder: cap ${CAP} B, job's files ${(await folderUsage(result.outputsDir)).bytes} B (bounded by what the disk writes between two looks)`);
  });
});

describe("memory", () => {
  it("a job whose child was killed for memory but which exits 0 succeeds, keeps its outputs, and is warned", async () => {
    const logs: string[] = [];
    const { result } = await run(support.kind, "head -c 300m /dev/zero | tail > /dev/null; echo survived; echo ok > /outputs/ok.txt", logs);
    expect(result).toMatchObject({ outcome: "succeeded", exitCode: 0, error: null });
    expect(result.warning).toMatch(/a process in the job was killed: the container ran out of memory \(limit 64 MiB\)/);
    expect(logs.join("")).toContain("survived");
    expect((await lstat(join(result.outputsDir, "ok.txt"))).size).toBe(3);
  });
});

describe("a container an earlier daemon left", () => {
  async function leftRunning(cmd: string, overrides = {}) {
    const workDir = join(tempDir(), "job_left");
    await mkdir(join(workDir, "inputs"), { recursive: true });
    const outputsDir = await prepareOutputs(workDir, CAP, "folder");
    const container = await docker.createContainer(containerOptions({ jobId: "job_left", provider, spec: spec(cmd, overrides), gpuUuids: [], inputsDir: join(workDir, "inputs"), outputsDir }));
    await container.start();
    const executor = executorFor("folder");
    const entry: (typeof executors)[number] = { executor, workDir, result: { containerId: container.id } as RunResult };
    executors.push(entry);
    return { executor, workDir, container, spec: spec(cmd, overrides) };
  }

  it("is seen through: only output after the cursor is forwarded, including what it printed meanwhile", async () => {
    const { executor, workDir, container, spec: leftSpec } = await leftRunning("echo one; sleep 1; echo two; echo three; sleep 1; echo four");
    // What the earlier daemon had forwarded: up to "one".
    const cursor = await eventually(async () => {
      const raw = (await container.logs({ stdout: true, stderr: true, timestamps: true, follow: false })) as unknown as Buffer;
      return /(\d{4}-\d\d-\d\dT[\d:.]+Z) one\n/.exec(raw.toString())?.[1];
    });
    const logs: string[] = [];
    const result = await executor.resume({ jobId: "job_left", spec: leftSpec, gpuUuids: [], workDir, containerId: container.id, logCursor: cursor, pullMs: 7 }, hooks(logs), new AbortController().signal);
    expect(result).toMatchObject({ outcome: "succeeded", exitCode: 0, pullMs: 7, containerId: container.id });
    expect(logs.join("")).toBe("two\nthree\nfour\n");
  });

  it("gets no more time than its timeout from the container's own start", async () => {
    const { executor, workDir, container, spec: leftSpec } = await leftRunning("sleep 120", { timeout_s: 1 });
    // The earlier daemon is away past the job's deadline.
    const startedAt = Date.parse((await container.inspect()).State.StartedAt);
    await eventually(async () => Date.now() > startedAt + 1_000, { what: "the deadline to pass" });
    const result = await executor.resume({ jobId: "job_left", spec: leftSpec, gpuUuids: [], workDir, containerId: container.id, pullMs: 0 }, hooks(), new AbortController().signal);
    expect(result.outcome).toBe("timed_out");
  });
});
