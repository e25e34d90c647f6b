// The daemon's side of the watchdogs: one per container, started detached (a
// process group of its own, stdio to a log in the job's folder) with the same
// Node and loader the daemon runs on, and not started twice for one container.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { WatchdogArgs } from "./args.ts";

const MAIN = fileURLToPath(new URL("./main.ts", import.meta.url));
const PID_FILE = "watchdog.pid";

export interface GuardRequest {
  jobId: string;
  workDir: string;
  containerId: string;
  graceMs: number;
  timeoutS: number;
}

/** What the daemon asks of watchdogs (a stand-in in the daemon's unit tests). */
export interface ContainerGuard {
  guard(request: GuardRequest): Promise<void>;
}

export class Watchdogs implements ContainerGuard {
  constructor(
    private readonly heartbeatFile: string,
    /** Past a job's deadline, how long the daemon may take to stop it before the watchdog does. */
    private readonly backstopMs: number,
    private readonly log: Logger,
  ) {}

  async guard(request: GuardRequest): Promise<void> {
    const pidFile = join(request.workDir, PID_FILE);
    if (await watchdogAlive(pidFile, request.containerId)) return;
    const args: WatchdogArgs = {
      container: request.containerId,
      heartbeat_file: this.heartbeatFile,
      pid_file: pidFile,
      grace_ms: request.graceMs,
      timeout_s: request.timeoutS,
      backstop_ms: this.backstopMs,
    };
    const out = openSync(join(request.workDir, "watchdog.log"), "a");
    try {
      // Inspector flags would make the watchdog fight the daemon for the port.
      const execArgv = process.execArgv.filter((flag) => !flag.startsWith("--inspect"));
      const child = spawn(process.execPath, [...execArgv, MAIN, JSON.stringify(args)], { detached: true, stdio: ["ignore", out, out] });
      child.once("error", (error) => this.log.error({ err: error, job: request.jobId }, "could not start the container's watchdog"));
      child.unref();
      this.log.info({ job: request.jobId, pid: child.pid, container: request.containerId }, "watchdog started");
    } finally {
      closeSync(out);
    }
  }
}

/** A watchdog of an earlier daemon may still be watching an adopted container. */
async function watchdogAlive(pidFile: string, containerId: string): Promise<boolean> {
  let pid: number;
  try {
    pid = Number.parseInt(await readFile(pidFile, "utf8"), 10);
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    // The pid may have been reused since: it must be a watchdog of this very container.
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).includes(containerId);
  } catch {
    return false;
  }
}
