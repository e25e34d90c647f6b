// The daemon's watchdog, a process of its own (spawn.ts starts it detached, in
// its own process group), so it lives on when the daemon is killed with its
// whole group. One per daemon, however many containers: a process loaded per
// container cost more CPU than a short job itself, on the cores the job ran
// on. Once a second it reads the guard files (guards.ts), looks at each
// container and the daemon's heartbeat file, and does what decide.ts says. It
// exits once nothing is left to guard and the daemon is gone (its heartbeat
// file removed at a clean stop, or silent), or its folder is gone. Its only
// argument is a JSON object (WatchdogArgs).
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import Docker from "dockerode";
import { parseWatchdogArgs, type ContainerGuardFile, type WatchdogArgs } from "./args.ts";
import { nextStep, type ContainerState } from "./decide.ts";
import { dropGuard, pidFileIn, readGuards } from "./guards.ts";

const LOOK_EVERY_MS = 1_000;
/** With nothing to guard, how long the daemon's heartbeat may be silent before the watchdog takes it as gone and exits. */
const IDLE_EXIT_MS = 5_000;

function say(message: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), msg: message, ...extra })}\n`);
}

async function containerNow(docker: Docker, id: string): Promise<{ state: ContainerState; startedAt?: number }> {
  try {
    const { State } = await docker.getContainer(id).inspect();
    const startedAt = Date.parse(State.StartedAt);
    return { state: State.Status as ContainerState, ...(State.Status !== "created" && Number.isFinite(startedAt) ? { startedAt } : {}) };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return { state: "gone" };
    throw error;
  }
}

async function heartbeatAt(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

class Watchdog {
  private readonly docker = new Docker();
  /** When each container was first seen: a heartbeat is never older than that in its eyes. */
  private readonly firstSeen = new Map<string, number>();
  // No parameter properties: where the daemon runs under Node's own type stripping, so does this.
  private readonly args: WatchdogArgs;

  constructor(args: WatchdogArgs) {
    this.args = args;
  }

  async run(): Promise<void> {
    await writeFile(pidFileIn(this.args.dir), String(process.pid));
    say("watching", { dir: this.args.dir, backstopMs: this.args.backstop_ms });
    for (;;) {
      const listing = await readGuards(this.args.dir).catch((error: unknown) => {
        say("could not read the guard files", { error: (error as Error).message });
        return { guards: [], unreadable: [] };
      });
      if (!listing) return say("done", { why: "its folder is gone" });
      for (const { file, error } of listing.unreadable) {
        say("dropping a guard file that is not one", { file, error });
        await rm(file, { force: true }).catch(() => undefined);
      }
      // Once a round, for every container: the daemon's last beat.
      const lastHeartbeat = await heartbeatAt(this.args.heartbeat_file);
      // One at a time, each on its own: a container Docker cannot answer for does not keep the others unguarded.
      for (const guard of listing.guards) await this.look(guard, lastHeartbeat);
      const daemonGone = lastHeartbeat === undefined || Date.now() - lastHeartbeat > IDLE_EXIT_MS;
      if (listing.guards.length === 0 && daemonGone && (await this.leave())) return;
      await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
    }
  }

  private async look(guard: ContainerGuardFile, lastHeartbeat: number | undefined): Promise<void> {
    const about = { container: guard.container, job: guard.job_id };
    try {
      if (!this.firstSeen.has(guard.container)) this.firstSeen.set(guard.container, Date.now());
      const step = nextStep({
        now: Date.now(),
        container: await containerNow(this.docker, guard.container),
        lastHeartbeat,
        watchingSince: this.firstSeen.get(guard.container)!,
        graceMs: guard.grace_ms,
        timeoutS: guard.timeout_s,
        backstopMs: this.args.backstop_ms,
      });
      if (step.action === "exit") {
        this.firstSeen.delete(guard.container);
        await dropGuard(this.args.dir, guard.container);
      }
      if (step.action === "kill") {
        say("killing the container", { ...about, why: step.why });
        await this.docker.getContainer(guard.container).kill();
      }
      if (step.action === "remove") {
        say("removing the container", { ...about, why: step.why });
        await this.docker.getContainer(guard.container).remove({ force: true });
      }
    } catch (error) {
      // Docker restarting, a kill racing the container's own end: look again.
      say("could not look at the container", { ...about, error: (error as Error).message });
    }
  }

  /**
   * Gives up its pid file, then looks once more: a daemon writes its guard
   * before it checks for a watchdog (spawn.ts), so a guard written in between
   * is either seen here or finds no watchdog and starts one.
   */
  private async leave(): Promise<boolean> {
    const pidFile = pidFileIn(this.args.dir);
    if ((await readFile(pidFile, "utf8").catch(() => "")) === String(process.pid)) await rm(pidFile, { force: true });
    const again = await readGuards(this.args.dir).catch(() => undefined);
    if (again && again.guards.length > 0) {
      // Unless a daemon has started another meanwhile: then both guard, to the same rules, until one is idle.
      await writeFile(pidFile, String(process.pid), { flag: "wx" }).catch(() => undefined);
      return false;
    }
    say("done", { why: "nothing to guard, and the daemon is gone" });
    return true;
  }
}

const args = parseWatchdogArgs(process.argv[2]);
if (!args.ok) {
  say("bad arguments", { error: args.error });
  process.exit(2);
}
await new Watchdog(args.args).run();
process.exit(0);
