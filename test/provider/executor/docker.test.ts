// The executor against the real Docker engine: the output cap on a size-limited
// filesystem (and its fallback, a watched folder), a process killed for memory
// in a job that exits 0, a container an earlier daemon left, seen through, and a
// job's secrets in its environment.
import { createHash } from "node:crypto";
import { lstat, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { DockerExecutor, type RunResult } from "../../../provider/executor/docker.ts";
import { folderUsage } from "../../../provider/executor/outputWatcher.ts";
import { OUTPUT_SLACK_BYTES, outputVolumeOf, VOLUME_SIZE_TOLERANCE, prepareOutputs, probeOutputFilesystem } from "../../../provider/executor/outputVolume.ts";
import { containerOptions } from "../../../provider/executor/sandbox.ts";
import { removeFolder } from "../../../provider/folderRemoval.ts";
import { docker, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { PrivateImages } from "../../../provider/executor/privateImages.ts";

const tempDir = useTempDir("executor");
const CAP = 8 * 1024 * 1024;
const provider = `0xtest${process.pid}`;
const support = await probeOutputFilesystem(process.env.TMPDIR ?? "/tmp");
const log = pino({ level: "silent" });
const executors: Array<{ executor: DockerExecutor; workDir: string; result?: RunResult }> = [];

function executorFor(outputVolume: "filesystem" | "folder") {
  return new DockerExecutor(docker, log, { pullPolicy: "never", privateImages: PrivateImages.inMemory(), provider, maxOutputBytes: CAP, outputVolume });
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

describe("many files", () => {
  /** Writes `count` empty files into /outputs, as fast as a shell can, carrying on past errors (`true`, unlike `:`, does not end the shell when its redirection fails). */
  const manyFiles = (count: number) => `i=0; while [ $i -lt ${count} ]; do true > /outputs/f$i; i=$((i+1)); done`;

  it.skipIf(support.kind !== "filesystem")("on a size-limited /outputs: a job making 100,000 files is stopped once past the volume's budget, saying so", async () => {
    const { result } = await run("filesystem", manyFiles(100_000));
    expect(result.outcome).toBe("failed");
    expect(result.error).toBe("the job made more than 20000 files and folders in /outputs (at most 10000 files are kept) and was stopped");
  });

  it("in a plain folder: a job making files without end is stopped once past 10,000, saying so", async () => {
    // Only the watch can stop it: the timeout is far away.
    const { result } = await run("folder", "i=0; while true; do true > /outputs/f$i; i=$((i+1)); done");
    expect(result.outcome).toBe("failed");
    expect(result.error).toBe("the job wrote more than 10000 files to /outputs and was stopped");
  });

  it("a job leaving exactly the most files succeeds, in either kind of /outputs", async () => {
    for (const kind of new Set([support.kind, "folder" as const])) {
      const { result, executor, workDir } = await run(kind, manyFiles(10_000));
      expect(result, kind).toMatchObject({ outcome: "succeeded", exitCode: 0 });
      expect((await folderUsage(result.outputsDir)).files).toBe(10_000);
      await executor.dispose(workDir, result.containerId);
    }
    // 10,000 files made, listed and hashed in each kind of /outputs: past 30 s when the whole-stack suite shares the 2 cores.
  }, 120_000);
});

describe("outputs nested too deeply", () => {
  it("fail the job saying so, naming none of the provider's folders", async () => {
    // 25 folders of 200 characters: deeper than the provider can name by path (PATH_MAX).
    const name = "d".repeat(200);
    const { result, executor, workDir } = await run(support.kind, `cd /outputs && i=0; while [ $i -lt 25 ]; do mkdir ${name} && cd ${name}; i=$((i+1)); done; echo x > bottom.txt`);
    try {
      expect(result.outcome).toBe("failed");
      expect(result.error).toMatch(/^the job's outputs nest too deeply: "\/outputs\/dddd[^"]*" is longer than the 255 characters an output's path may have, more than this provider keeps$/);
    } finally {
      // Node's rm cannot unlink a tree that deep (a plain folder's is on the provider's disk).
      await executor.dispose(workDir, result.containerId);
      await removeFolder(workDir);
    }
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

  it("ended while no daemon watched, past its deadline: reported as Docker saw it end (exit code, logs, times)", async () => {
    const { executor, workDir, container, spec: leftSpec } = await leftRunning("echo one; sleep 1; echo two; exit 3", { timeout_s: 2 });
    const ended = await eventually(async () => {
      const state = (await container.inspect()).State;
      return state.Status === "exited" && state;
    });
    // The daemon comes back after the job's deadline (it ran 1 s of its 2).
    await eventually(async () => Date.now() > Date.parse(ended.StartedAt) + 2_000, { what: "the deadline to pass" });
    const logs: string[] = [];
    const result = await executor.resume({ jobId: "job_left", spec: leftSpec, gpuUuids: [], workDir, containerId: container.id, pullMs: 0 }, hooks(logs), new AbortController().signal);
    expect(result).toMatchObject({ outcome: "failed", exitCode: 3, error: "the container exited with code 3" });
    expect(logs.join("")).toBe("one\ntwo\n");
    expect(result.runMs).toBe(Date.parse(ended.FinishedAt) - Date.parse(ended.StartedAt));
    expect(result.ran).toEqual({ startedAt: ended.StartedAt, finishedAt: ended.FinishedAt });
  });

  it("stopped past its deadline while no daemon watched (by its watchdog): timed out, with the exit code it had", async () => {
    const { executor, workDir, container, spec: leftSpec } = await leftRunning("sleep 120", { timeout_s: 1 });
    const startedAt = Date.parse((await container.inspect()).State.StartedAt);
    await eventually(async () => Date.now() > startedAt + 1_000, { what: "the deadline to pass" });
    await container.kill();
    await container.wait();
    const result = await executor.resume({ jobId: "job_left", spec: leftSpec, gpuUuids: [], workDir, containerId: container.id, pullMs: 0 }, hooks(), new AbortController().signal);
    expect(result).toMatchObject({ outcome: "timed_out", exitCode: 137, error: "the job ran past its timeout of 1 s and was stopped (exit code 137)" });
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

describe("a container made ahead (while the hub confirms the accept)", () => {
  const jobIn = (jobId: string, cmd: string, overrides = {}) => ({ jobId, spec: spec(cmd, overrides), gpuUuids: [], workDir: join(tempDir(), jobId) });

  it.skipIf(support.kind !== "filesystem")("is created, never started, and is the container the run starts, its /outputs the one made ahead", async () => {
    const executor = executorFor("filesystem");
    const request = jobIn("job_ahead", "echo ran > /outputs/ran.txt; echo hello");
    const prepared = await executor.prepare(request);
    expect(prepared).toMatchObject({ image: { warm: true }, volume: "filesystem" });
    const entry: (typeof executors)[number] = { executor, workDir: request.workDir };
    executors.push(entry);
    expect((await docker.getContainer(prepared!.containerId).inspect()).State.Status).toBe("created");
    const logs: string[] = [];
    entry.result = await executor.run(request, hooks(logs), new AbortController().signal, prepared);
    expect(entry.result).toMatchObject({ outcome: "succeeded", exitCode: 0, containerId: prepared!.containerId, image: { warm: true } });
    expect(logs.join("")).toBe("hello\n");
    expect(await outputVolumeOf(request.workDir)).toBe("filesystem");
    expect((await stat(join(entry.result.outputsDir, "ran.txt"))).size).toBe(4);
  });

  it("is not made when the image is not here: nothing is pulled before the hub's start", async () => {
    const executor = executorFor("folder");
    const request = jobIn("job_cold", "true", { image: "127.0.0.1:9/pond/absent:1" });
    expect(await executor.prepare(request)).toBeUndefined();
    expect((await executor.ownContainers()).filter((c) => c.jobId === "job_cold")).toEqual([]);
  });

  it("is not made for a job that may reach the network: its container joins the network the run opens, behind its proxy", async () => {
    const executor = executorFor("folder");
    const request = jobIn("job_egress", "true", { network: { allow: ["huggingface.co"] } });
    expect(await executor.prepare(request)).toBeUndefined();
    expect((await executor.ownContainers()).filter((c) => c.jobId === "job_egress")).toEqual([]);
  });

  it("removed before the start (a prune of created containers), is made again, and the job runs", async () => {
    const executor = executorFor("folder");
    const request = jobIn("job_pruned", "echo again");
    const prepared = await executor.prepare(request);
    await docker.getContainer(prepared!.containerId).remove({ force: true });
    const entry: (typeof executors)[number] = { executor, workDir: request.workDir };
    executors.push(entry);
    const logs: string[] = [];
    entry.result = await executor.run(request, hooks(logs), new AbortController().signal, prepared);
    expect(entry.result).toMatchObject({ outcome: "succeeded", exitCode: 0 });
    expect(entry.result.containerId).not.toBe(prepared!.containerId);
    expect(logs.join("")).toBe("again\n");
  });

  it("is removed, never having run, when its job is canceled before the start", async () => {
    const executor = executorFor("folder");
    const request = jobIn("job_dropped", "echo never > /outputs/never.txt");
    const prepared = await executor.prepare(request);
    const aborted = AbortSignal.abort();
    const result = await executor.run(request, hooks(), aborted, prepared);
    expect(result).toMatchObject({ outcome: "canceled", containerId: prepared!.containerId });
    expect((await docker.getContainer(prepared!.containerId).inspect()).State.StartedAt).toBe("0001-01-01T00:00:00Z");
    await executor.dispose(request.workDir, result.containerId);
    await expect(docker.getContainer(prepared!.containerId).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe("a job's secrets", () => {
  it("are set in the container's environment, made at the run (not ahead), and read back from it by name for an adopted job's mask", async () => {
    const executor = executorFor("folder");
    const workDir = join(tempDir(), "job_secret");
    const entry: (typeof executors)[number] = { executor, workDir };
    executors.push(entry);
    const secret = "hf_the_value_the_job_needs";
    const request = { jobId: "job_secret", spec: spec('printf %s "$HF_TOKEN" | sha256sum', { secrets: ["HF_TOKEN"], env: { PLAIN: "shown" } }), gpuUuids: [], workDir, secrets: { HF_TOKEN: secret } };
    expect(await executor.prepare(request)).toBeUndefined();
    const logs: string[] = [];
    entry.result = await executor.run(request, hooks(logs), new AbortController().signal);
    expect(entry.result.outcome).toBe("succeeded");
    expect(logs.join("")).toContain(createHash("sha256").update(secret).digest("hex"));
    expect(await executor.secretsOf(entry.result.containerId!, ["HF_TOKEN", "MISSING"])).toEqual({ HF_TOKEN: secret });
    expect(await executor.secretsOf("no-such-container", ["HF_TOKEN"])).toBeUndefined();
  });
});
