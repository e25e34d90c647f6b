// The daemon's heartbeat file, and what it says when the daemon's event loop was held.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LATE_BEAT_MS, startHeartbeat } from "../../provider/heartbeat.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const tempDir = useTempDir("heartbeat");

afterEach(() => {
  vi.useRealTimers();
});

describe("startHeartbeat", () => {
  it("writes the daemon's pid at once, and removes the file at a clean stop (the watchdog then need not wait for it to go stale)", async () => {
    const beat = await startHeartbeat(join(tempDir(), "daemon.heartbeat"), { onError: () => undefined });
    expect(await readFile(join(tempDir(), "daemon.heartbeat"), "utf8")).toBe(String(process.pid));
    beat.stop();
    await expect(readFile(join(tempDir(), "daemon.heartbeat"), "utf8")).rejects.toThrow(/ENOENT/);
  });

  it("reports a beat that comes late, and only that one", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
    const late: number[] = [];
    const beat = await startHeartbeat(join(tempDir(), "daemon.heartbeat"), { onError: () => undefined, onLate: (ms) => void late.push(ms) });
    try {
      await vi.advanceTimersByTimeAsync(3_000);
      expect(late).toEqual([]);
      // Something held the event loop for five seconds: the next beat comes that much late.
      vi.setSystemTime(Date.now() + 5_000);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(late).toEqual([5_000]);
      expect(late[0]).toBeGreaterThan(LATE_BEAT_MS);
      await vi.advanceTimersByTimeAsync(3_000);
      expect(late).toHaveLength(1);
    } finally {
      beat.stop();
    }
  });
});
