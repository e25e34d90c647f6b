// The daemon's heartbeat: a file whose modification time it renews every
// second. Watchdogs (watchdog/) read it to tell a live daemon, or one that
// restarted with the same data folder, from one that is gone. A beat that
// comes late says something held the daemon's event loop (the hub's
// heartbeat, and every job's supervision, waited just as long): it is reported.
import { rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

const BEAT_EVERY_MS = 1_000;
/** Late by more than this, a beat is reported: well before a watchdog (grace + 3 s) or the hub (30 s) would give up. */
export const LATE_BEAT_MS = 2_000;

export function heartbeatFileIn(dataDir: string): string {
  return join(dataDir, "daemon.heartbeat");
}

export interface HeartbeatHooks {
  onError(error: unknown): void;
  /** A beat came `lateMs` after it was due. */
  onLate?(lateMs: number): void;
}

export async function startHeartbeat(file: string, hooks: HeartbeatHooks): Promise<{ stop(): void }> {
  await writeFile(file, String(process.pid));
  let due = Date.now() + BEAT_EVERY_MS;
  // Written whole each time: a file removed meanwhile comes back.
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - due > LATE_BEAT_MS) hooks.onLate?.(now - due);
    due = now + BEAT_EVERY_MS;
    void writeFile(file, String(process.pid)).catch(hooks.onError);
  }, BEAT_EVERY_MS);
  timer.unref();
  return {
    /** A clean stop removes the file: the watchdog, with nothing left to guard, need not wait for it to go stale. */
    stop: () => {
      clearInterval(timer);
      rmSync(file, { force: true });
    },
  };
}
