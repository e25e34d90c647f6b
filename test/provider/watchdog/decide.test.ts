import { describe, expect, it } from "vitest";
import { nextStep, PAST_GRACE_MS, type WatchdogView } from "../../../provider/watchdog/decide.ts";

const view = (overrides: Partial<WatchdogView> = {}): WatchdogView => ({
  now: 100_000,
  container: { state: "running", startedAt: 90_000 },
  lastHeartbeat: 99_000,
  watchingSince: 50_000,
  graceMs: 30_000,
  timeoutS: 60,
  backstopMs: 15_000,
  ...overrides,
});

describe("nextStep", () => {
  it("waits while the daemon beats and the job is within its time", () => {
    expect(nextStep(view())).toEqual({ action: "wait" });
  });

  it("kills the container once the daemon has been silent longer than the hub's grace (and a little more)", () => {
    expect(nextStep(view({ lastHeartbeat: 100_000 - 30_000 - PAST_GRACE_MS - 1 }))).toEqual({ action: "kill", why: "the daemon has been silent for 33 s, longer than the hub's grace of 30 s" });
    expect(nextStep(view({ lastHeartbeat: 100_000 - 30_000 - PAST_GRACE_MS }))).toEqual({ action: "wait" });
    expect(nextStep(view({ lastHeartbeat: 71_000 }))).toEqual({ action: "wait" });
  });

  it("counts a missing heartbeat from when it started watching", () => {
    expect(nextStep(view({ lastHeartbeat: undefined, watchingSince: 80_000 }))).toEqual({ action: "wait" });
    expect(nextStep(view({ lastHeartbeat: undefined, watchingSince: 60_000 })).action).toBe("kill");
    expect(nextStep(view({ lastHeartbeat: undefined, watchingSince: 68_000 })).action).toBe("wait");
  });

  it("kills a job past its deadline, after the daemon's own stop had its time, even with the daemon there", () => {
    expect(nextStep(view({ now: 90_000 + 60_000 + 14_999, lastHeartbeat: 164_000 }))).toEqual({ action: "wait" });
    expect(nextStep(view({ now: 90_000 + 60_000 + 15_000, lastHeartbeat: 164_000 }))).toEqual({ action: "kill", why: "the job is past its timeout of 60 s" });
  });

  it("removes a container that never started once the daemon is gone, and waits on one being removed", () => {
    expect(nextStep(view({ container: { state: "created" }, lastHeartbeat: 1 })).action).toBe("remove");
    expect(nextStep(view({ container: { state: "created" } }))).toEqual({ action: "wait" });
    expect(nextStep(view({ container: { state: "removing" }, lastHeartbeat: 1 }))).toEqual({ action: "wait" });
  });

  it("exits once its container has ended or is gone", () => {
    for (const state of ["exited", "dead", "gone"] as const) expect(nextStep(view({ container: { state } })).action).toBe("exit");
  });
});
