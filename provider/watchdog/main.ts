// A container's watchdog, a process of its own (spawn.ts starts it detached, in
// its own process group), so it lives on when the daemon is killed with its
// whole group. Once a second it looks at the container and the daemon's
// heartbeat file and does what decide.ts says; it exits when the container has
// ended or is gone. Its only argument is a JSON object (WatchdogArgs).
import { stat, writeFile } from "node:fs/promises";
import Docker from "dockerode";
import { parseWatchdogArgs, type WatchdogArgs } from "./args.ts";
import { nextStep, type ContainerState } from "./decide.ts";

const LOOK_EVERY_MS = 1_000;

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

async function watch(args: WatchdogArgs): Promise<void> {
  const docker = new Docker();
  const watchingSince = Date.now();
  await writeFile(args.pid_file, String(process.pid));
  say("watching", { container: args.container, graceMs: args.grace_ms, timeoutS: args.timeout_s });
  for (;;) {
    try {
      const step = nextStep({
        now: Date.now(),
        container: await containerNow(docker, args.container),
        lastHeartbeat: await heartbeatAt(args.heartbeat_file),
        watchingSince,
        graceMs: args.grace_ms,
        timeoutS: args.timeout_s,
        backstopMs: args.backstop_ms,
      });
      if (step.action === "exit") return say("done", { why: step.why });
      if (step.action === "kill") {
        say("killing the container", { why: step.why });
        await docker.getContainer(args.container).kill();
      }
      if (step.action === "remove") {
        say("removing the container", { why: step.why });
        await docker.getContainer(args.container).remove({ force: true });
      }
    } catch (error) {
      // Docker restarting, a kill racing the container's own end: look again.
      say("could not look at the container", { error: (error as Error).message });
    }
    await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_MS));
  }
}

const args = parseWatchdogArgs(process.argv[2]);
if (!args.ok) {
  say("bad arguments", { error: args.error });
  process.exit(2);
}
await watch(args.args);
process.exit(0);
