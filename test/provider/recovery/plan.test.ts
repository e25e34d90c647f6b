import { describe, expect, it } from "vitest";
import type { JobRecord } from "../../../provider/jobRecord.ts";
import { planRecovery, type LeftContainer, type LeftFolder } from "../../../provider/recovery/plan.ts";

const record = (jobId: string, containerId?: string): JobRecord => ({
  v: 1,
  offer: {
    v: 1,
    type: "job.offer",
    job_id: jobId,
    chain_job_id: `0x${"ab".repeat(32)}`,
    spec: { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1" },
    gpu_uuids: [],
    rate_wei_per_second: "1",
    max_amount_wei: "60",
    expires_at: 0,
  },
  accepted_at: 1,
  grace_ms: 30_000,
  ...(containerId ? { container_id: containerId, pull_ms: 5 } : {}),
});
const folder = (name: string, rec?: JobRecord): LeftFolder => ({ name, workDir: `/d/jobs/${name}`, ...(rec ? { record: rec } : {}) });
const container = (id: string, jobId: string, state = "running"): LeftContainer => ({ id, jobId, state });

describe("planRecovery", () => {
  it("adopts a container whose folder has its job's record, running or ended while the daemon was away", () => {
    const plan = planRecovery([container("c1", "job_a"), container("c2", "job_b", "exited")], [folder("job_a", record("job_a", "c1")), folder("job_b", record("job_b", "c2"))], new Set());
    expect(plan.adopt.map((a) => [a.record.offer.job_id, a.containerId])).toEqual([
      ["job_a", "c1"],
      ["job_b", "c2"],
    ]);
    expect(plan.removeContainers).toEqual([]);
    expect(plan.removeFolders).toEqual([]);
  });

  it("adopts the container of a record written before its id was (a crash between create and record)", () => {
    const plan = planRecovery([container("c1", "job_a")], [folder("job_a", record("job_a"))], new Set());
    expect(plan.adopt.map((a) => a.containerId)).toEqual(["c1"]);
  });

  it("removes containers with no record to finish them with: another job's, a mediation's, a stranger's", () => {
    const plan = planRecovery([container("c1", "job_a"), container("c2", "job_m")], [folder("mediation-job_m")], new Set());
    expect(plan.removeContainers.map((c) => c.id)).toEqual(["c1", "c2"]);
    expect(plan.removeFolders.map((f) => f.workDir)).toEqual(["/d/jobs/mediation-job_m"]);
    expect(plan.adopt).toEqual([]);
  });

  it("keeps an accepted job that never got a container, or whose container never started, for the hub to start", () => {
    const plan = planRecovery([container("c9", "job_b", "created")], [folder("job_a", record("job_a")), folder("job_b", record("job_b", "c9"))], new Set());
    expect(plan.awaitStart.map((j) => j.record.offer.job_id)).toEqual(["job_a", "job_b"]);
    // The never-started container goes, and the record forgets it.
    expect(plan.removeContainers.map((c) => c.id)).toEqual(["c9"]);
    expect(plan.awaitStart[1]!.record).not.toHaveProperty("container_id");
  });

  it("removes the folder of a job that ran but whose container is gone: the hub hears it was lost", () => {
    const plan = planRecovery([], [folder("job_a", record("job_a", "c1"))], new Set());
    expect(plan.removeFolders).toEqual([{ workDir: "/d/jobs/job_a", why: "its container is gone" }]);
    expect(plan.awaitStart).toEqual([]);
  });

  it("removes a job whose result already waits in the outbox, container and folder", () => {
    const plan = planRecovery([container("c1", "job_a", "exited")], [folder("job_a", record("job_a", "c1"))], new Set(["job_a"]));
    expect(plan.adopt).toEqual([]);
    expect(plan.removeContainers.map((c) => c.id)).toEqual(["c1"]);
    expect(plan.removeFolders.map((f) => f.why)).toEqual(["its result waits in the outbox"]);
  });

  it("refuses a record that names another job than its folder", () => {
    const plan = planRecovery([container("c1", "job_a")], [folder("job_a", record("job_b", "c1"))], new Set());
    expect(plan.adopt).toEqual([]);
    expect(plan.removeFolders.map((f) => f.why)).toEqual(["the record names another job"]);
    expect(plan.removeContainers.map((c) => c.id)).toEqual(["c1"]);
  });
});
