// The daemon's real watchdog process (spawned detached, as the daemon does) over
// real containers: the test plays the daemon's heartbeat, and stops it (or
// removes its file, as a clean stop does) to play a daemon that is gone. The
// kill -9 of a whole daemon process group is in test/e2e/faults/providerRestart.test.ts.
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { guardsDirIn, logFileIn, pidFileIn } from "../../../provider/watchdog/guards.ts";
import { Watchdogs } from "../../../provider/watchdog/spawn.ts";
import { docker, TEST_IMAGE } from "../../helpers/docker.ts";
import { eventually } from "../../helpers/eventually.ts";
import { allProcesses, processAlive } from "../../helpers/processTree.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const tempDir = useTempDir("watchdog");
const containers: string[] = [];
const beats: NodeJS.Timeout[] = [];
const watchdogPids: number[] = [];

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
const watchdogDir = () => join(tempDir(), "watchdog");
const heartbeatFile = () => join(tempDir(), "daemon.heartbeat");
const watchdogLog = () => readFile(logFileIn(watchdogDir()), "utf8");
const guardFiles = async () => readdir(guardsDirIn(watchdogDir())).catch(() => []);

/** A daemon's side: its heartbeat beating, its watchdog started (as the daemon does at start). */
async function daemon() {
  const stopBeating = await beating(heartbeatFile());
  const watchdogs = new Watchdogs({ dir: watchdogDir(), heartbeatFile: heartbeatFile(), backstopMs: 0, log: pino({ level: "silent" }) });
  await watchdogs.start();
  const pid = await eventually(async () => Number.parseInt(await readFile(pidFileIn(watchdogDir()), "utf8"), 10) || undefined, { what: "the watchdog's pid file" });
  watchdogPids.push(pid);
  const guard = (containerId: string, graceMs: number, timeoutS: number) => watchdogs.guard({ jobId: "job_watched", workDir: tempDir(), containerId, graceMs, timeoutS });
  return { pid, stopBeating, guard };
}

afterEach(async () => {
  for (const timer of beats.splice(0)) clearInterval(timer);
  for (const id of containers.splice(0)) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  for (const pid of watchdogPids.splice(0)) if (processAlive(pid)) process.kill(pid, "SIGKILL");
});

describe("the daemon's watchdog", () => {
  it("kills its containers once the daemon has been silent longer than the grace, then exits", async () => {
    const { pid, stopBeating, guard } = await daemon();
    const [first, second] = [await sleepingContainer(), await sleepingContainer()];
    await guard(first, 1_500, 600);
    await guard(second, 1_500, 600);
    await eventually(async () => (await watchdogLog()).includes('"watching"'), { what: "the watchdog to be loaded" });
    expect(await running(first)).toBe(true);
    stopBeating();
    for (const id of [first, second]) await eventually(async () => !(await running(id)), { timeoutMs: 30_000, what: "the container to be killed" });
    await eventually(async () => !processAlive(pid), { timeoutMs: 20_000, what: "the watchdog to exit" });
    expect(await watchdogLog()).toMatch(new RegExp(`killing the container.*${first}.*the daemon has been silent`));
    expect(await guardFiles()).toEqual([]);
  });

  it("leaves a container alone while the daemon beats, and kills it past its deadline all the same", async () => {
    const { guard } = await daemon();
    const id = await sleepingContainer();
    await guard(id, 60_000, 2);
    await eventually(async () => !(await running(id)), { timeoutMs: 30_000, what: "the container to be killed at its deadline" });
    expect(await watchdogLog()).toMatch(/the job is past its timeout of 2 s/);
  });

  it("is one process for every container, stays while the daemon beats with nothing to guard, and goes at its clean stop", async () => {
    const { pid, guard } = await daemon();
    const [first, second] = [await sleepingContainer(), await sleepingContainer()];
    await guard(first, 60_000, 600);
    await guard(second, 60_000, 600);
    await new Watchdogs({ dir: watchdogDir(), heartbeatFile: heartbeatFile(), backstopMs: 0, log: pino({ level: "silent" }) }).start();
    expect(Number.parseInt(await readFile(pidFileIn(watchdogDir()), "utf8"), 10)).toBe(pid);
    for (const id of [first, second]) await docker.getContainer(id).remove({ force: true });
    await eventually(async () => (await guardFiles()).length === 0, { timeoutMs: 10_000, what: "the guards of removed containers to be dropped" });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(processAlive(pid)).toBe(true);
    // A guard asked for now is read by the same process.
    const third = await sleepingContainer();
    await guard(third, 60_000, 1);
    await eventually(async () => !(await running(third)), { timeoutMs: 30_000, what: "the third container to be killed at its deadline" });
    expect(Number.parseInt(await readFile(pidFileIn(watchdogDir()), "utf8"), 10)).toBe(pid);
    for (const timer of beats.splice(0)) clearInterval(timer);
    await rm(heartbeatFile());
    await eventually(async () => !processAlive(pid), { timeoutMs: 10_000, what: "the watchdog to exit once the daemon has stopped" });
  });

  it("is started once for guards asked for all at once, before it ever ran", async () => {
    await beating(heartbeatFile());
    const watchdogs = new Watchdogs({ dir: watchdogDir(), heartbeatFile: heartbeatFile(), backstopMs: 0, log: pino({ level: "silent" }) });
    const ids = await Promise.all(Array.from({ length: 6 }, () => sleepingContainer()));
    await Promise.all(ids.map((containerId) => watchdogs.guard({ jobId: "job_watched", workDir: tempDir(), containerId, graceMs: 60_000, timeoutS: 600 })));
    const pid = Number.parseInt(await readFile(pidFileIn(watchdogDir()), "utf8"), 10);
    watchdogPids.push(pid);
    const watching = allProcesses().filter((p) => p.command.includes(watchdogDir()));
    expect(watching.map((p) => p.pid)).toEqual([pid]);
    expect((await guardFiles()).sort()).toEqual(ids.map((id) => `${id}.json`).sort());
  });

  it("drops a guard file that is not one and guards the others, and a daemon whose watchdog died starts another", async () => {
    const { pid, guard } = await daemon();
    await writeFile(join(guardsDirIn(watchdogDir()), "0123456789ab.json"), "{cut sh");
    process.kill(pid, "SIGKILL");
    await eventually(async () => !processAlive(pid), { what: "the first watchdog to die" });
    const id = await sleepingContainer();
    await guard(id, 60_000, 1);
    const next = await eventually(async () => {
      const now = Number.parseInt(await readFile(pidFileIn(watchdogDir()), "utf8"), 10);
      return now !== pid && processAlive(now) ? now : undefined;
    }, { what: "a new watchdog" });
    watchdogPids.push(next);
    await eventually(async () => !(await running(id)), { timeoutMs: 30_000, what: "the container to be killed at its deadline" });
    expect(await watchdogLog()).toMatch(/dropping a guard file that is not one/);
    expect(await guardFiles()).not.toContain("0123456789ab.json");
  });
});
