// A sweep's early stopping: the median stopping rule on the jobs' reported curves,
// and the stopper that reads them as the sweep is waited for and cancels, with a reason.
import { describe, expect, it } from "vitest";
import { EarlyStopper, stopRuleOf } from "../../cli/sweep/earlyStopping.ts";
import { medianStops, type Curve, type StopRule } from "../../cli/sweep/medianRule.ts";
import { sweepSucceeded } from "../../cli/sweep/sweepResults.ts";
import { UsageError } from "../../cli/errors.ts";
import { waitForJobs } from "../../cli/waitJobs.ts";
import type { Job } from "../../protocol/job.ts";
import { canceledByCreator, stoppedEarly } from "../../protocol/job.ts";
import type { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { PondApiError } from "../../sdk/index.ts";

const curve = (...values: (number | null)[]): Curve => values.map((value, i) => ({ step: i + 1, value }));
const lossRule: StopRule = { metric: "loss", minimize: true, graceSteps: 1, minOthers: 3 };

describe("the median stopping rule", () => {
  it("stops a run whose best so far is worse than the median of the others' running averages at its step", () => {
    const curves = new Map([
      ["a", curve(1, 0.9, 0.8)],
      ["b", curve(1.2, 1.0, 0.9)],
      ["c", curve(0.8, 0.7, 0.6)],
      ["bad", curve(3, 2.9, 2.8)],
    ]);
    const stops = medianStops(curves, new Set(curves.keys()), lossRule);
    expect(stops).toEqual([{ id: "bad", reason: "stopped early at step 3: its best loss 2.8 is above the median 0.9 of 3 other runs' averages there" }]);
    // Higher is better: the same curves stop the best ones instead.
    expect(medianStops(curves, new Set(["c"]), { ...lossRule, minimize: false }).map((stop) => stop.id)).toEqual(["c"]);
  });

  it("judges no run before its grace steps, nor against fewer runs than it needs", () => {
    const curves = new Map([
      ["a", curve(1, 1, 1)],
      ["b", curve(1, 1, 1)],
      ["bad", curve(9, 9, 9)],
    ]);
    expect(medianStops(curves, new Set(curves.keys()), lossRule)).toEqual([]);
    curves.set("c", curve(1, 1, 1));
    expect(medianStops(curves, new Set(curves.keys()), { ...lossRule, graceSteps: 4 })).toEqual([]);
    expect(medianStops(curves, new Set(curves.keys()), lossRule).map((stop) => stop.id)).toEqual(["bad"]);
  });

  it("compares a run only with runs still going that reached its step, and with every run that ended, however short", () => {
    const curves = new Map([
      ["short1", curve(1, 1)],
      ["short2", curve(1, 1)],
      ["going", curve(1)],
      ["bad", curve(9, 9, 9, 9, 9)],
    ]);
    // "going" has not reached step 5: only two others count.
    expect(medianStops(curves, new Set(["going", "bad"]), lossRule)).toEqual([]);
    // Once "going" has ended, its whole (short) curve counts.
    expect(medianStops(curves, new Set(["bad"]), lossRule).map((stop) => stop.id)).toEqual(["bad"]);
  });

  it("stops a diverged run (its newest value not a number) whatever the others did, and never a tie with the median", () => {
    expect(medianStops(new Map([["nan", curve(1, null)]]), new Set(["nan"]), lossRule)).toEqual([{ id: "nan", reason: "stopped early at step 2: its loss is not a number" }]);
    const ties = new Map([
      ["a", curve(1)],
      ["b", curve(1)],
      ["c", curve(1)],
      ["d", curve(1)],
    ]);
    expect(medianStops(ties, new Set(ties.keys()), lossRule)).toEqual([]);
  });

  it("lets one run that lies about its metrics move the median by its rank only, however far it lies", () => {
    // Reported metrics are the providers' word: one provider of the sweep may report a loss no run could reach.
    const honest = new Map([
      ["a", curve(1, 1)],
      ["b", curve(1.2, 1.2)],
      ["c", curve(3, 3)],
      ["d", curve(3.2, 3.2)],
      ["judged", curve(2, 2)],
    ]);
    const judgedAlone = (curves: Map<string, Curve>) => medianStops(curves, new Set(["judged"]), lossRule).map((stop) => stop.id);
    expect(judgedAlone(honest)).toEqual([]);
    // A lie of any size counts as the best rank, as an honest run a little better than all would.
    const withRun = (value: number) => new Map([...honest, ["liar", curve(value, value)]]);
    expect(judgedAlone(withRun(-1e300))).toEqual(judgedAlone(withRun(0.9)));
    expect(judgedAlone(withRun(1e300))).toEqual(judgedAlone(withRun(3.3)));
    expect(judgedAlone(withRun(1e300))).toEqual([]);
  });

  it("reads its flags, saying what to fix", () => {
    expect(stopRuleOf("val_loss:min")).toEqual({ metric: "val_loss", minimize: true, graceSteps: 1, minOthers: 3 });
    expect(stopRuleOf("val/accuracy:max", 5)).toMatchObject({ metric: "val/accuracy", minimize: false, graceSteps: 5 });
    expect(() => stopRuleOf("val_loss")).toThrow(UsageError);
    expect(() => stopRuleOf("val_loss:lowest")).toThrow(/which way is better/);
    expect(() => stopRuleOf("loss:min", 0)).toThrow(/--stop-early-after is a step, at least 1/);
  });
});

/** A job as the API shows it, enough for the stopper: its status and its newest loss step. */
const job = (id: string, status: Job["status"], lossStep?: number, detail: string | null = null) =>
  ({ id, status, status_detail: detail, reported_metrics: lossStep === undefined ? null : { loss: { step: lossStep, value: 0 } } }) as Job;

class StandInApi {
  readonly curves = new Map<string, Curve>();
  readonly reads: string[] = [];
  readonly cancels: Array<[string, string | undefined]> = [];
  endedMeanwhile = new Set<string>();
  /** Canceled by an earlier call whose answer was lost: the job says so, the cancel is refused as finished. */
  canceledBefore = new Map<string, string>();

  async getJob(id: string): Promise<Job> {
    const reason = this.canceledBefore.get(id);
    return reason ? job(id, "canceled", undefined, canceledByCreator(reason)) : job(id, "succeeded");
  }

  async reportedMetrics(id: string): Promise<ReportedMetrics> {
    this.reads.push(id);
    const points = (this.curves.get(id) ?? []).map((point) => ({ ...point, time: new Date(0).toISOString() }));
    return { job_id: id, series: points.length ? { loss: { points, reported: points.length, every: 1 } } : {}, ignored: { lines: 0, last_reason: null } };
  }

  async cancelJob(id: string, reason?: string): Promise<Job> {
    if (this.endedMeanwhile.has(id) || this.canceledBefore.has(id)) throw new PondApiError({ type: "job-finished", title: "Conflict", status: 409, detail: "already succeeded" });
    this.cancels.push([id, reason]);
    return job(id, "canceled", undefined, canceledByCreator(reason));
  }
}

describe("the early stopper", () => {
  it("reads only the curves that moved, cancels the runs the rule stops with its reason, once, and leaves one that ended meanwhile", async () => {
    const api = new StandInApi();
    const notes: string[] = [];
    const stopper = new EarlyStopper(api, lossRule, (text) => notes.push(text));
    for (const id of ["a", "b", "c"]) api.curves.set(id, curve(1, 1));
    api.curves.set("bad", curve(5, 5));
    api.curves.set("late", curve(6, 6));
    api.endedMeanwhile.add("late");
    const jobs = [job("a", "succeeded", 2), job("b", "succeeded", 2), job("c", "processing", 2), job("bad", "processing", 2), job("late", "processing", 2), job("queued", "queued")];
    await stopper.look(jobs);
    expect(api.reads.sort()).toEqual(["a", "b", "bad", "c", "late"]);
    expect(api.cancels).toEqual([["bad", "stopped early at step 2: its best loss 5 is above the median 1 of 4 other runs' averages there"]]);
    expect([...stopper.stopped.keys()]).toEqual(["bad"]);
    expect(notes).toEqual([`[pond: bad stopped early at step 2: its best loss 5 is above the median 1 of 4 other runs' averages there]`]);

    // Nothing moved: nothing read again, and the stopped run is not canceled twice.
    api.reads.length = 0;
    await stopper.look(jobs);
    expect(api.reads).toEqual([]);
    expect(api.cancels).toHaveLength(1);
    expect(stopper.summary([...jobs.slice(0, 5).map((j) => ({ ...j, status: "succeeded" as const })), job("queued", "canceled")])).toBe("[pond: 1 of 6 jobs stopped early by loss (lower is better)]");
  });

  it("counts a job whose earlier cancel went through though its answer was lost", async () => {
    const api = new StandInApi();
    const stopper = new EarlyStopper(api, lossRule, () => undefined);
    for (const id of ["a", "b", "c"]) api.curves.set(id, curve(1, 1));
    api.curves.set("bad", curve(5, 5));
    api.canceledBefore.set("bad", "stopped early at step 2: its best loss 5 is above the median 1 of 3 other runs' averages there");
    await stopper.look(["a", "b", "c"].map((id) => job(id, "succeeded", 2)).concat(job("bad", "processing", 2)));
    expect([...stopper.stopped.keys()]).toEqual(["bad"]);
    expect(api.cancels).toEqual([]);
  });

  it("says so when no job reports the metric", async () => {
    const stopper = new EarlyStopper(new StandInApi(), lossRule, () => undefined);
    await stopper.look([job("a", "processing")]);
    expect(stopper.summary([job("a", "succeeded")])).toBe("[pond: no job reported loss (POND_METRICS lines): none could be stopped early]");
  });

  it("runs on each pass of a wait, which a blip in the API does not end", async () => {
    const states = [["processing", "processing"], ["processing", "succeeded"], ["succeeded", "succeeded"]] as const;
    let pass = 0;
    const seen: string[][] = [];
    let blips = 0;
    const outcome = await waitForJobs(
      { getJob: async (id) => job(id, states[Math.min(pass, 2)]![id === "x" ? 0 : 1]) },
      ["x", "y"],
      {
        sleep: async () => void pass++,
        onPass: async (jobs) => {
          seen.push(jobs.map((j) => `${j.id}:${j.status}`));
          if (pass === 0 && blips++ === 0) throw new PondApiError({ type: "about:blank", title: "Unavailable", status: 503, detail: "try again" });
        },
      },
    );
    expect(outcome.jobs.map((j) => j.status)).toEqual(["succeeded", "succeeded"]);
    expect(seen).toEqual([["x:processing", "y:processing"], ["x:processing", "y:succeeded"], ["x:succeeded", "y:succeeded"]]);
  });

  it("counts a sweep whose only unsuccessful jobs were stopped early as one that went as asked", () => {
    const stopped = job("s", "canceled", undefined, canceledByCreator("stopped early at step 3: …"));
    expect(stoppedEarly(stopped)).toBe(true);
    expect(stoppedEarly(job("c", "canceled", undefined, canceledByCreator()))).toBe(false);
    expect(stoppedEarly(job("c", "canceled", undefined, canceledByCreator("wrong data set")))).toBe(false);
    expect(stoppedEarly(job("f", "failed", undefined, "stopped early at step 3"))).toBe(false);
    expect(sweepSucceeded([job("a", "succeeded"), stopped])).toBe(true);
    expect(sweepSucceeded([job("a", "succeeded"), stopped, job("f", "failed")])).toBe(false);
  });
});
