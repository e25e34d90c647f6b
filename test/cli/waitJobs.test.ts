// The wait loop of `pond jobs wait` against a scripted reader: each job reported
// once as it ends, open jobs read again with a growing pause, a timeout that
// leaves the rest open, and an error from the API (an unknown id) passed on.
import { describe, expect, it } from "vitest";
import type { Job } from "../../protocol/job.ts";
import { waitForJobs, type JobReader } from "../../cli/waitJobs.ts";
import { PondApiError } from "../../sdk/index.ts";

/** A job is open until it has been read `endsAfter` times, then ends with `status`. */
function scriptedReader(script: Record<string, { endsAfter: number; status: Job["status"] }>): JobReader & { reads: string[] } {
  const counts = new Map<string, number>();
  const reads: string[] = [];
  return {
    reads,
    async getJob(id) {
      const entry = script[id];
      if (!entry) throw new Error(`job ${id} not found`);
      reads.push(id);
      const n = (counts.get(id) ?? 0) + 1;
      counts.set(id, n);
      return { id, status: n >= entry.endsAfter ? entry.status : "running" } as Job;
    },
  };
}

function fakeClock() {
  let t = 0;
  const pauses: number[] = [];
  return { pauses, now: () => t, sleep: async (ms: number) => void (pauses.push(ms), (t += ms)) };
}

describe("waitForJobs", () => {
  it("reports each job once as it ends, reads only open jobs again, and pauses longer each pass", async () => {
    const reader = scriptedReader({ a: { endsAfter: 1, status: "succeeded" }, b: { endsAfter: 3, status: "failed" }, c: { endsAfter: 4, status: "succeeded" } });
    const clock = fakeClock();
    const ended: string[] = [];
    const outcome = await waitForJobs(reader, ["c", "a", "b", "a"], { ...clock, onEnded: (job) => ended.push(`${job.id}:${job.status}`), firstPauseMs: 100, maxPauseMs: 200 });
    expect(ended).toEqual(["a:succeeded", "b:failed", "c:succeeded"]);
    expect(outcome.jobs.map((job) => `${job.id}:${job.status}`)).toEqual(["c:succeeded", "a:succeeded", "b:failed"]);
    expect(outcome.open).toEqual([]);
    expect(reader.reads.filter((id) => id === "a")).toHaveLength(1);
    expect(reader.reads.filter((id) => id === "c")).toHaveLength(4);
    expect(clock.pauses).toEqual([100, 150, 200]);
  });

  it("gives up at the timeout with the open jobs named, never pausing past it", async () => {
    const reader = scriptedReader({ a: { endsAfter: 1, status: "canceled" }, b: { endsAfter: 1_000, status: "succeeded" } });
    const clock = fakeClock();
    const outcome = await waitForJobs(reader, ["a", "b"], { ...clock, timeoutMs: 1_000, firstPauseMs: 400, maxPauseMs: 400 });
    expect(outcome.open).toEqual(["b"]);
    expect(outcome.jobs.map((job) => job.status)).toEqual(["canceled", "running"]);
    expect(clock.pauses).toEqual([400, 400, 200]);
  });

  it("reads many jobs a few at a time", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `j${i}`);
    let inFlight = 0;
    let most = 0;
    const reader: JobReader = {
      async getJob(id) {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight--;
        return { id, status: "succeeded" } as Job;
      },
    };
    expect((await waitForJobs(reader, ids)).jobs).toHaveLength(20);
    expect(most).toBe(8);
  });

  it("passes on the API's error for a job it cannot read", async () => {
    await expect(waitForJobs(scriptedReader({}), ["job_missing"], fakeClock())).rejects.toThrow(/not found/);
  });

  it("outlives a blip in the API (a 503, a dropped connection), reading the jobs again on the next pass", async () => {
    const scripted = scriptedReader({ a: { endsAfter: 2, status: "succeeded" }, b: { endsAfter: 1, status: "failed" } });
    const failures = [new PondApiError({ type: "about:blank", title: "Service Unavailable", status: 503, detail: "try again" }), new TypeError("fetch failed")];
    let calls = 0;
    const reader: JobReader = { getJob: (id) => (++calls <= 3 && failures.length ? Promise.reject(failures.shift()!) : scripted.getJob(id)) };
    const outcome = await waitForJobs(reader, ["a", "b"], fakeClock());
    expect(outcome.jobs.map((job) => `${job.id}:${job.status}`)).toEqual(["a:succeeded", "b:failed"]);
  });

  it("gives up on an API that stays down, with its error, after a dozen passes", async () => {
    const clock = fakeClock();
    const down: JobReader = { getJob: () => Promise.reject(new PondApiError({ type: "about:blank", title: "Bad Gateway", status: 502, detail: "upstream down" })) };
    await expect(waitForJobs(down, ["a"], { ...clock, firstPauseMs: 10, maxPauseMs: 10 })).rejects.toThrow(/Bad Gateway/);
    expect(clock.pauses).toHaveLength(11);
  });
});

