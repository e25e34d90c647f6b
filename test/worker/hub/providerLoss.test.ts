import { describe, expect, it } from "vitest";
import { decideLostJob } from "../../../worker/hub/providerLoss.ts";

describe("decideLostJob", () => {
  it("says a provider gone past the grace period did not come back in time", () => {
    expect(decideLostJob({ attempt: 0 }, "0xp", 3, 30_000, "gone")).toEqual({
      action: "requeue",
      detail: "provider 0xp disconnected and did not come back within 30 s; requeued (attempt 2 of 3)",
    });
  });

  it("says a provider that came back without the job restarted, not that it stayed away", () => {
    const decision = decideLostJob({ attempt: 0 }, "0xp", 3, 30_000, "restarted");
    expect(decision).toEqual({ action: "requeue", detail: "provider 0xp came back without the job (it restarted and no longer had it); requeued (attempt 2 of 3)" });
    expect(JSON.stringify(decision)).not.toMatch(/did not come back/);
  });

  it("fails the job on its last attempt, saying why", () => {
    expect(decideLostJob({ attempt: 2 }, "0xp", 3, 30_000, "restarted")).toEqual({
      action: "fail",
      error: "provider 0xp came back without the job (it restarted and no longer had it); the job used all 3 attempts",
    });
  });
});
