// What a container's watchdog does next, from what it sees. Pure. The watchdog
// outlives a killed daemon (its own process group) and stops the container
// once the daemon has been silent longer than the hub waits for it, since the
// hub then gives the job to someone else; and always past the job's deadline.
export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead" | "gone";

export interface WatchdogView {
  now: number;
  container: { state: ContainerState; startedAt?: number };
  /** When the daemon last touched its heartbeat file; undefined if there is none. */
  lastHeartbeat: number | undefined;
  /** When this watchdog started: a heartbeat is never older than that in its eyes. */
  watchingSince: number;
  graceMs: number;
  timeoutS: number;
  /** Past the deadline the daemon stops the job itself; the watchdog waits this much longer. */
  backstopMs: number;
}

export type WatchdogStep = { action: "wait" } | { action: "exit" | "kill" | "remove"; why: string };

/**
 * The heartbeat the watchdog last saw is up to a second older than the daemon's end,
 * which is when the hub's grace starts: a little longer, so the hub has given the job
 * up first, and a daemon back in the nick of time is not left with a killed job.
 */
export const PAST_GRACE_MS = 3_000;

export function nextStep(view: WatchdogView): WatchdogStep {
  const { state, startedAt } = view.container;
  if (state === "gone" || state === "exited" || state === "dead") return { action: "exit", why: `the container is ${state}` };
  const silentMs = view.now - Math.max(view.lastHeartbeat ?? 0, view.watchingSince);
  const daemonGone = silentMs > view.graceMs + PAST_GRACE_MS;
  const gone = `the daemon has been silent for ${Math.round(silentMs / 1000)} s, longer than the hub's grace of ${Math.round(view.graceMs / 1000)} s`;
  if (state === "created") return daemonGone ? { action: "remove", why: `${gone}, and the container never started` } : { action: "wait" };
  if (state === "removing") return { action: "wait" };
  if (startedAt !== undefined && view.now >= startedAt + view.timeoutS * 1000 + view.backstopMs) {
    return { action: "kill", why: `the job is past its timeout of ${view.timeoutS} s` };
  }
  if (daemonGone) return { action: "kill", why: gone };
  return { action: "wait" };
}
