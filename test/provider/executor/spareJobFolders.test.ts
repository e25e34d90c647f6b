// Job folders made ahead with their size-limited /outputs mounted, on a real
// loop mount: taken by a rename that carries the mount along, used by the
// executor as the job's own (the cap holds), refilled later, and nothing left
// mounted by a close or by a daemon that died with one made.
import { readdir, stat, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { DockerExecutor } from "../../../provider/executor/docker.ts";
import { OUTPUT_SLACK_BYTES, outputVolumeOf, prepareOutputs, probeOutputFilesystem, unmountOutputVolume, VOLUME_SIZE_TOLERANCE } from "../../../provider/executor/outputVolume.ts";
import { SpareJobFolders } from "../../../provider/executor/spareJobFolders.ts";
import { docker, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { PrivateImages } from "../../../provider/executor/privateImages.ts";

const tempDir = useTempDir("spares");
const CAP = 8 * 1024 * 1024;
const log = pino({ level: "silent" });
const support = await probeOutputFilesystem(process.env.TMPDIR ?? "/tmp");
const open: SpareJobFolders[] = [];
const taken: string[] = [];

function sparesIn(root: string, kind: "filesystem" | "folder" = "filesystem") {
  const spares = new SpareJobFolders({ root, capBytes: CAP, kind, log, refillDelayMs: 50 });
  open.push(spares);
  return spares;
}

/** Takes a spare into `workDir` once one is ready. */
async function takeWhenReady(spares: SpareJobFolders, workDir: string): Promise<void> {
  taken.push(workDir);
  await eventually(() => spares.takeInto(workDir), { timeoutMs: 10_000, what: "a spare folder" });
}

/** The name of the one spare under `root` once its volume is mounted (a folder is listed before its mount is done). */
async function mountedSpareIn(root: string): Promise<string> {
  return eventually(
    async () => {
      const names = await readdir(root);
      return names.length === 1 && (await outputVolumeOf(join(root, names[0]!))) === "filesystem" && names[0];
    },
    { timeoutMs: 10_000, what: "a mounted spare" },
  );
}

afterEach(async () => {
  for (const spares of open.splice(0)) await spares.close();
  for (const workDir of taken.splice(0)) await unmountOutputVolume(workDir);
});

describe.skipIf(support.kind !== "filesystem")("spare job folders", () => {
  it("hand over a folder whose /outputs is the job's own size-limited volume, mounted and empty", async () => {
    const spares = sparesIn(join(tempDir(), "spare"));
    await spares.start();
    const workDir = join(tempDir(), "jobs", "job_1");
    await takeWhenReady(spares, workDir);
    expect(await outputVolumeOf(workDir)).toBe("filesystem");
    expect(await readdir(join(workDir, "outputs"))).toEqual([]);
    const room = await statfs(join(workDir, "outputs"));
    expect(room.bavail * room.bsize).toBeGreaterThanOrEqual(CAP);
    expect(room.bavail * room.bsize - CAP).toBeLessThanOrEqual(VOLUME_SIZE_TOLERANCE + OUTPUT_SLACK_BYTES);
  });

  it("give one folder to one taker when two ask at once, and have the next ready after the refill delay", async () => {
    const spares = sparesIn(join(tempDir(), "spare"));
    await spares.start();
    const takers = [join(tempDir(), "jobs", "a"), join(tempDir(), "jobs", "b")];
    taken.push(...takers);
    // Both ask at once, again until the first spare is ready (a take that finds none takes nothing).
    const given = await eventually(async () => {
      const answers = await Promise.all(takers.map((workDir) => spares.takeInto(workDir)));
      return answers.some(Boolean) && answers;
    }, { timeoutMs: 10_000, what: "a spare for one of two takers" });
    expect(given.filter(Boolean)).toHaveLength(1);
    await takeWhenReady(spares, join(tempDir(), "jobs", "c"));
    expect(await outputVolumeOf(join(tempDir(), "jobs", "c"))).toBe("filesystem");
  });

  it("make the next at once when asked to refill (the taker's result is out), without waiting out the refill delay", async () => {
    const root = join(tempDir(), "spare");
    // A delay no test waits out: only refill() can make the second spare in time.
    const spares = new SpareJobFolders({ root, capBytes: CAP, kind: "filesystem", log, refillDelayMs: 3_600_000 });
    open.push(spares);
    await spares.start();
    await takeWhenReady(spares, join(tempDir(), "jobs", "first"));
    expect(await spares.takeInto(join(tempDir(), "jobs", "unready"))).toBe(false);
    spares.refill();
    await takeWhenReady(spares, join(tempDir(), "jobs", "second"));
    expect(await outputVolumeOf(join(tempDir(), "jobs", "second"))).toBe("filesystem");
  });

  it("try again after a make that failed, though no job comes to take or refill one", async () => {
    let calls = 0;
    const failingOnce: typeof prepareOutputs = async (...args) => {
      calls++;
      if (calls === 1) throw new Error("failed to setup loop device (as a busy machine may say)");
      return prepareOutputs(...args);
    };
    const root = join(tempDir(), "spare");
    const spares = new SpareJobFolders({ root, capBytes: CAP, kind: "filesystem", log, refillDelayMs: 50, prepare: failingOnce });
    open.push(spares);
    await spares.start();
    await takeWhenReady(spares, join(tempDir(), "jobs", "after-a-failure"));
    expect(calls).toBe(2);
    expect(await outputVolumeOf(join(tempDir(), "jobs", "after-a-failure"))).toBe("filesystem");
  });

  it("are used by the executor as the job's volume: a job writing without end is stopped at the cap", async () => {
    const spares = sparesIn(join(tempDir(), "spare"));
    await spares.start();
    const workDir = join(tempDir(), "jobs", "job_1");
    await takeWhenReady(spares, workDir);
    const image = await stat(join(workDir, "outputs.img"));
    const executor = new DockerExecutor(docker, log, { pullPolicy: "never", privateImages: PrivateImages.inMemory(), provider: `0xspare${process.pid}`, maxOutputBytes: CAP, outputVolume: "filesystem" });
    const spec = { image: TEST_IMAGE, cmd: ["sh", "-c", "while true; do head -c 1048576 /dev/zero >> /outputs/huge.bin; done"], resources: { gpus: 0, cpus: 0.5, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1" };
    const result = await executor.run({ jobId: "job_1", spec, gpuUuids: [], workDir }, { onPhase: () => undefined, onLog: () => undefined }, new AbortController().signal);
    try {
      expect(result.outcome).toBe("failed");
      expect(result.error).toMatch(new RegExp(`the job wrote more than ${CAP} bytes to /outputs`));
      // The very volume made ahead, not a second one made over it.
      expect((await stat(join(workDir, "outputs.img"))).ino).toBe(image.ino);
    } finally {
      await executor.dispose(workDir, result.containerId);
    }
  });

  it("leave nothing mounted when closed", async () => {
    const root = join(tempDir(), "spare");
    const spares = sparesIn(root);
    await spares.start();
    await mountedSpareIn(root);
    await spares.close();
    expect(await readdir(root)).toEqual([]);
  });

  it("that a daemon killed left mounted are unmounted and removed by the next one's start", async () => {
    const root = join(tempDir(), "spare");
    // The first is never closed, as if its daemon had been killed.
    const first = new SpareJobFolders({ root, capBytes: CAP, kind: "filesystem", log });
    await first.start();
    const left = await mountedSpareIn(root);
    // Killed once its spare was whole: listed as mounted is not yet done (its last steps raced the next start's
    // removal under load in a full run, and the folder stayed).
    await (first as unknown as { making?: Promise<void> }).making;
    await writeFile(join(root, left, "outputs", "stale.txt"), "from the daemon before");
    const second = sparesIn(root);
    await second.start();
    expect(await outputVolumeOf(join(root, left))).toBe("folder");
    expect(await readdir(root)).not.toContain(left);
  });
});

describe("spare job folders for a plain /outputs folder", () => {
  it("are not made: a plain folder costs nothing to make when the job comes", async () => {
    const root = join(tempDir(), "spare");
    const spares = sparesIn(root, "folder");
    await spares.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await spares.takeInto(join(tempDir(), "jobs", "job_1"))).toBe(false);
    expect(await readdir(root)).toEqual([]);
  });
});
