import { describe, expect, it } from "vitest";
import { reconcileRunning, type HeldJob } from "../../../worker/hub/reconcile.ts";

const held = (id: string, status: HeldJob["status"]): HeldJob => ({ id, status, attempt: 0 });

describe("reconcileRunning", () => {
  it("loses what the daemon no longer has, stops what is no longer its own, and restarts what was still starting", () => {
    const result = reconcileRunning([held("job_a", "processing"), held("job_b", "starting"), held("job_c", "processing")], ["job_b", "job_c", "job_gone"]);
    expect(result.lost.map((job) => job.id)).toEqual(["job_a"]);
    expect(result.cancel).toEqual(["job_gone"]);
    expect(result.start.map((job) => job.id)).toEqual(["job_b"]);
  });

  it("does nothing when both sides agree on running jobs", () => {
    expect(reconcileRunning([held("job_a", "processing")], ["job_a"])).toEqual({ lost: [], cancel: [], start: [] });
  });

  it("counts a job reported twice once", () => {
    expect(reconcileRunning([held("job_a", "starting")], ["job_a", "job_a"]).start.map((job) => job.id)).toEqual(["job_a"]);
  });
});
