// The daemon's side of its watchdog (main.ts): one process, started with the
// daemon (detached, a process group of its own, stdio to its log) on the same
// Node and loader the daemon runs on, so a job's start never waits for one to
// load. Guarding a container is a file; the watchdog is started again if it is
// not there to read it.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { WatchdogArgs } from "./args.ts";
import { guardsDirIn, logFileIn, pidFileIn, writeGuard } from "./guards.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
/** Its log is started afresh past this size: a line per killed container, but a daemon may run for years. */
const LOG_KEPT_BYTES = 1024 * 1024;

export interface GuardRequest {
  jobId: string;
  workDir: string;
  containerId: string;
  graceMs: number;
  timeoutS: number;
}

/** What the daemon asks of its watchdog (a stand-in in the daemon's unit tests). */
export interface ContainerGuard {
  guard(request: GuardRequest): Promise<void>;
}

export interface WatchdogOptions {
  /** Its folder (guards.ts): the guard files, pid file and log. */
  dir: string;
  heartbeatFile: string;
  /** Past a job's deadline, how long the daemon may take to stop it before the watchdog does. */
  backstopMs: number;
  log: Logger;
}

export class Watchdogs implements ContainerGuard {
  private starting: Promise<void> | undefined;

  constructor(private readonly options: WatchdogOptions) {}

  /** Ahead of the first job; one an earlier daemon left running is kept. */
  async start(): Promise<void> {
    await mkdir(guardsDirIn(this.options.dir), { recursive: true, mode: 0o700 });
    await this.ensureRunning();
  }

  async guard(request: GuardRequest): Promise<void> {
    await mkdir(guardsDirIn(this.options.dir), { recursive: true, mode: 0o700 });
    // The guard first, then the check: a watchdog leaving meanwhile either reads it or is started again (main.ts).
    await writeGuard(this.options.dir, { job_id: request.jobId, container: request.containerId, grace_ms: request.graceMs, timeout_s: request.timeoutS });
    await this.ensureRunning();
  }

  private ensureRunning(): Promise<void> {
    // One start at a time: guards asked for together share it.
    this.starting ??= this.startUnlessAlive().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async startUnlessAlive(): Promise<void> {
    const { dir, heartbeatFile, backstopMs, log } = this.options;
    if (await watchdogAlive(dir)) return;
    const args: WatchdogArgs = { dir, heartbeat_file: heartbeatFile, backstop_ms: backstopMs };
    const logFile = logFileIn(dir);
    const fresh = ((await stat(logFile).catch(() => undefined))?.size ?? 0) > LOG_KEPT_BYTES;
    const out = openSync(logFile, fresh ? "w" : "a", 0o600);
    try {
      // Inspector flags would make the watchdog fight the daemon for the port.
      const execArgv = process.execArgv.filter((flag) => !flag.startsWith("--inspect"));
      const child = spawn(process.execPath, [...execArgv, MAIN, JSON.stringify(args)], { detached: true, stdio: ["ignore", out, out] });
      child.once("error", (error) => log.error({ err: error }, "could not start the watchdog"));
      child.unref();
      // Written here too (the watchdog writes its own once loaded), so a guard asked for meanwhile finds it.
      if (child.pid) await writeFile(pidFileIn(dir), String(child.pid));
      log.info({ pid: child.pid }, "watchdog started");
    } finally {
      closeSync(out);
    }
  }
}

/** Its pid file names a live watchdog of this very folder (a pid may have been reused since). */
async function watchdogAlive(dir: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(pidFileIn(dir), "utf8"), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes(MAIN) && cmdline.includes(JSON.stringify(dir));
  } catch {
    return false;
  }
}
