import { describe, expect, it } from "vitest";
import { describeCheckpoint } from "../../cli/checkpointSummary.ts";
import type { Job } from "../../protocol/job.ts";

const spec = { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 60, max_price_wei: "1" };
const saved = { files: [{ path: "model.pt", size: 3 * 1024 * 1024, sha256: "a".repeat(64) }], bytes: 3 * 1024 * 1024, saved_at: Date.UTC(2026, 11, 7, 8, 0, 0), provider: "0xabc", attempt: 0 };
const job = (over: Partial<Job>): Pick<Job, "spec" | "checkpoint" | "attempt" | "status"> => ({ spec, checkpoint: null, attempt: 0, status: "processing", ...over });

describe("describeCheckpoint", () => {
  it("says nothing for a job that saves none", () => {
    expect(describeCheckpoint(job({}))).toEqual([]);
  });

  it("says none is saved yet, with the interval", () => {
    expect(describeCheckpoint(job({ spec: { ...spec, checkpoint: { interval_s: 30 } } }))).toEqual(["  checkpoint: none saved yet (every 30 s)"]);
  });

  it("names the latest, and whether this attempt or the next resumes from it", () => {
    const asked = { spec: { ...spec, checkpoint: {} }, checkpoint: saved };
    expect(describeCheckpoint(job(asked))).toEqual(["  checkpoint: 1 file, 3.0 MiB, saved 2026-12-07T08:00:00.000Z by 0xabc in attempt 1 (every 60 s)"]);
    expect(describeCheckpoint(job({ ...asked, attempt: 1 }))[0]).toMatch(/; this attempt resumed from it$/);
    expect(describeCheckpoint(job({ ...asked, attempt: 1, status: "queued" }))[0]).toMatch(/; the next attempt resumes from it$/);
  });

  it("names the one the attempt that saved the latest resumed from", () => {
    const later = { ...saved, provider: "0xdef", attempt: 1, saved_at: saved.saved_at + 60_000, resumed_from: saved };
    expect(describeCheckpoint(job({ spec: { ...spec, checkpoint: {} }, checkpoint: later, attempt: 1 }))).toEqual([
      "  checkpoint: 1 file, 3.0 MiB, saved 2026-12-07T08:01:00.000Z by 0xdef in attempt 2 (every 60 s)",
      "  resumed from: 1 file, 3.0 MiB, saved 2026-12-07T08:00:00.000Z by 0xabc in attempt 1",
    ]);
  });
});
