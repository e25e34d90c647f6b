import { describe, expect, it } from "vitest";
import { creatorJoinRefusal, MAX_CREATOR_SOCKETS, SIGNALING_AFTER_SUCCESS_MS } from "../../../worker/signaling/joinPolicy.ts";

const now = Date.parse("2026-12-05T12:00:00Z");

describe("creatorJoinRefusal", () => {
  it("lets the creator in while the job is queued or running, up to the socket cap", () => {
    expect(creatorJoinRefusal({ status: "processing", settlement: "pending", completedAt: null }, MAX_CREATOR_SOCKETS - 1, now)).toBeUndefined();
    expect(creatorJoinRefusal({ status: "queued", settlement: "reserving", completedAt: null }, MAX_CREATOR_SOCKETS, now)).toMatchObject({ status: 429 });
  });

  it("keeps a succeeded job's signaling while its provider serves its outputs, or while it is challenged", () => {
    const succeeded = (completedAt: number, settlement: "pending" | "challenged" | "settled" = "settled") => ({ status: "succeeded" as const, settlement, completedAt });
    expect(creatorJoinRefusal(succeeded(now - SIGNALING_AFTER_SUCCESS_MS + 1_000), 0, now)).toBeUndefined();
    expect(creatorJoinRefusal(succeeded(now - SIGNALING_AFTER_SUCCESS_MS - 1_000), 0, now)).toMatchObject({ status: 409, slug: "job-ended" });
    expect(creatorJoinRefusal(succeeded(now - 10 * SIGNALING_AFTER_SUCCESS_MS, "challenged"), 0, now)).toBeUndefined();
  });

  it.each(["failed", "canceled", "timed_out"] as const)("refuses a %s job: nothing is left to transfer", (status) => {
    const refusal = creatorJoinRefusal({ status, settlement: "none", completedAt: now - 1_000 }, 0, now);
    expect(refusal).toMatchObject({ status: 409, slug: "job-ended", message: expect.stringContaining(`the job is ${status}`) });
  });
});
