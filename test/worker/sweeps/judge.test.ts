// One pass of a batch's judge with its ports stood in for: which curves it reads,
// which jobs it cancels, and when it says the batch is over.
import { describe, expect, it } from "vitest";
import type { JobStatus } from "../../../protocol/jobStatus.ts";
import type { Curve } from "../../../protocol/medianRule.ts";
import { judgeEndsBy, Judgement, MAX_PAUSE_FACTOR, nextPauseMs, type JudgedJob, type JudgePorts } from "../../../worker/sweeps/judge.ts";

const curve = (...values: number[]): Curve => values.map((value, i) => ({ step: i + 1, value }));

class StandInPorts implements JudgePorts {
  jobs: JudgedJob[] = [];
  readonly curves = new Map<string, Curve>();
  readonly reads: string[] = [];
  readonly cancels: string[] = [];
  /** Ended on their own between the read and the cancel. */
  readonly endedMeanwhile = new Set<string>();

  async readJobs(): Promise<JudgedJob[]> {
    return this.jobs;
  }
  async readCurve(jobId: string): Promise<Curve> {
    this.reads.push(jobId);
    return this.curves.get(jobId) ?? [];
  }
  async cancel(jobId: string): Promise<boolean> {
    if (this.endedMeanwhile.has(jobId)) return false;
    this.cancels.push(jobId);
    return true;
  }
  set(id: string, status: JobStatus, values: number[]): void {
    this.curves.set(id, curve(...values));
    this.jobs = [...this.jobs.filter((job) => job.id !== id), { id, status, newestStep: values.length || undefined }];
  }
}

const sweep = { account: "0xcreator", jobIds: ["a", "b", "c", "bad", "late"], stopEarly: { metric: "loss", mode: "min" as const, after_step: 1 }, startedAt: 0, endBy: 1e13 };

describe("a judge's pass", () => {
  it("reads only the curves that moved, cancels the run the rule stops once, and not one that ended meanwhile", async () => {
    const ports = new StandInPorts();
    for (const id of ["a", "b", "c"]) ports.set(id, "processing", [1, 1]);
    ports.set("bad", "processing", [5, 5]);
    ports.set("late", "processing", [6, 6]);
    ports.endedMeanwhile.add("late");
    const judgement = new Judgement(sweep, ports);
    const first = await judgement.pass();
    expect(ports.reads.sort()).toEqual(["a", "b", "bad", "c", "late"]);
    expect(first.stopped.map((s) => s.id)).toEqual(["bad"]);
    expect(first.stopped[0]!.reason).toBe("stopped early at step 2: its best loss 5 is above the median 1 of 4 other runs' averages there");
    expect(first.over).toBe(false);

    // The cancel landed; nothing moved: nothing read again, nothing canceled twice.
    ports.set("bad", "canceled", [5, 5]);
    ports.set("late", "succeeded", [6, 6]);
    ports.reads.length = 0;
    const second = await judgement.pass();
    expect(ports.reads).toEqual([]);
    expect(ports.cancels).toEqual(["bad"]);
    expect(second.stopped).toEqual([]);

    // One curve moves: only it is read.
    ports.set("a", "processing", [1, 1, 0.5]);
    await judgement.pass();
    expect(ports.reads).toEqual(["a"]);
  });

  it("says the batch is over once every job found has ended, and not while none is found yet", async () => {
    const ports = new StandInPorts();
    const judgement = new Judgement(sweep, ports);
    // Before the batch's write has landed.
    expect(await judgement.pass()).toEqual({ found: 0, over: false, moved: false, stopped: [] });
    for (const id of sweep.jobIds) ports.set(id, "succeeded", []);
    ports.set("a", "processing", []);
    expect((await judgement.pass()).over).toBe(false);
    ports.set("a", "failed", []);
    expect(await judgement.pass()).toEqual({ found: 5, over: true, moved: false, stopped: [] });
  });

  it("ends the batch in the pass that stops its last running job", async () => {
    const ports = new StandInPorts();
    for (const id of ["a", "b", "c"]) ports.set(id, "succeeded", [1, 1]);
    ports.set("bad", "processing", [5, 5]);
    const outcome = await new Judgement({ ...sweep, jobIds: ["a", "b", "c", "bad"] }, ports).pass();
    expect(outcome).toMatchObject({ found: 4, over: true, stopped: [{ id: "bad" }] });
  });

  it("looks less often while nothing moves, down to a bound, and at its pace again once a curve moves", () => {
    const pauses = [];
    let pause = 0;
    for (let i = 0; i < 6; i++) pauses.push((pause = nextPauseMs(pause, 2_000, false)));
    expect(pauses).toEqual([4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(MAX_PAUSE_FACTOR * 2_000).toBe(30_000);
    expect(nextPauseMs(pause, 2_000, true)).toBe(2_000);
  });

  it("lets a batch go once no job of it can still run: its longest match timeout and every attempt's timeout, and a day", () => {
    const specs = [{ timeout_s: 60 }, { timeout_s: 600, match_timeout_s: 30 }];
    expect(judgeEndsBy(1_000, specs, 3)).toBe(1_000 + (30 + 3 * 600) * 1000 + 24 * 60 * 60_000);
  });
});
