// Real watchdog processes (spawned detached, as the daemon does) over real
// containers: the test plays the daemon's heartbeat, and stops it to play a
// daemon that died. The kill -9 of a whole daemon process group is in
// test/e2e/faults/providerRestart.test.ts.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Watchdogs } from "../../../provider/watchdog/spawn.ts";
import { docker, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { processAlive } from "../../helpers/processTree.ts";

const tempDir = useTempDir("watchdog");
const containers: string[] = [];
const beats: NodeJS.Timeout[] = [];

async function sleepingContainer(): Promise<string> {
  const container = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ["sleep", "300"], Labels: { "dev.pond.job": "job_watched", "dev.pond.provider": `0xwatchdog${process.pid}` }, HostConfig: { NetworkMode: "none" } });
  containers.push(container.id);
  await container.start();
  return container.id;
}

/** The daemon's heartbeat, renewed as the daemon would until `stop`. */
async function beating(file: string): Promise<() => void> {
  await writeFile(file, "beat");
  const timer = setInterval(() => void writeFile(file, "beat"), 200);
  beats.push(timer);
  return () => clearInterval(timer);
}

const running = async (id: string) => (await docker.getContainer(id).inspect()).State.Running;
const alive = processAlive;

async function guarded(containerId: string, graceMs: number, timeoutS: number) {
  const heartbeat = join(tempDir(), "daemon.heartbeat");
  const stopBeating = await beating(heartbeat);
  await new Watchdogs(heartbeat, 0, pino({ level: "silent" })).guard({ jobId: "job_watched", workDir: tempDir(), containerId, graceMs, timeoutS });
  const pid = await eventually(async () => Number.parseInt(await readFile(join(tempDir(), "watchdog.pid"), "utf8"), 10) || undefined, { what: "the watchdog's pid file" });
  return { pid, stopBeating, heartbeat };
}

afterEach(async () => {
  for (const timer of beats.splice(0)) clearInterval(timer);
  for (const id of containers.splice(0)) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
});

describe("a container's watchdog", () => {
  it("kills the container once the daemon has been silent longer than the grace, then exits", async () => {
    const id = await sleepingContainer();
    const { pid, stopBeating } = await guarded(id, 1_500, 600);
    expect(await running(id)).toBe(true);
    stopBeating();
    await eventually(async () => !(await running(id)), { timeoutMs: 30_000, what: "the container to be killed" });
    await eventually(async () => !alive(pid), { timeoutMs: 10_000, what: "the watchdog to exit" });
    expect(await readFile(join(tempDir(), "watchdog.log"), "utf8")).toMatch(/killing the container.*the daemon has been silent/);
  });

  it("leaves the container alone while the daemon beats, and kills it past its deadline all the same", async () => {
    const id = await sleepingContainer();
    await guarded(id, 60_000, 2);
    await eventually(async () => !(await running(id)), { timeoutMs: 30_000, what: "the container to be killed at its deadline" });
    expect(await readFile(join(tempDir(), "watchdog.log"), "utf8")).toMatch(/the job is past its timeout of 2 s/);
  });

  it("exits when its container is gone, and is not started twice for one container", async () => {
    const id = await sleepingContainer();
    const { pid } = await guarded(id, 60_000, 600);
    const heartbeat = join(tempDir(), "daemon.heartbeat");
    await new Watchdogs(heartbeat, 0, pino({ level: "silent" })).guard({ jobId: "job_watched", workDir: tempDir(), containerId: id, graceMs: 60_000, timeoutS: 600 });
    expect(Number.parseInt(await readFile(join(tempDir(), "watchdog.pid"), "utf8"), 10)).toBe(pid);
    await docker.getContainer(id).remove({ force: true });
    await eventually(async () => !alive(pid), { timeoutMs: 10_000, what: "the watchdog to exit" });
  });
});
