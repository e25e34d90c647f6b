// The daemon's heartbeat: a file whose modification time it renews every
// second. Watchdogs (watchdog/) read it to tell a live daemon, or one that
// restarted with the same data folder, from one that is gone.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";

const BEAT_EVERY_MS = 1_000;

export function heartbeatFileIn(dataDir: string): string {
  return join(dataDir, "daemon.heartbeat");
}

export async function startHeartbeat(file: string, onError: (error: unknown) => void): Promise<{ stop(): void }> {
  await writeFile(file, String(process.pid));
  // Written whole each time: a file removed meanwhile comes back.
  const timer = setInterval(() => void writeFile(file, String(process.pid)).catch(onError), BEAT_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
