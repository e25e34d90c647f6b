// A sweep's early stopping as the CLI asks for it: its flags read into the batch's
// stop_early, what is said once the sweep has ended, and how a stopped job counts.
import { describe, expect, it } from "vitest";
import { stopEarlyOf, stopEarlySummary } from "../../cli/sweep/earlyStopping.ts";
import { sweepSucceeded } from "../../cli/sweep/sweepResults.ts";
import { UsageError } from "../../cli/errors.ts";
import type { Job } from "../../protocol/job.ts";
import { canceledByCreator, stoppedEarly } from "../../protocol/job.ts";

/** A job as the API shows it, enough here: its status and its newest loss step. */
const job = (id: string, status: Job["status"], lossStep?: number, detail: string | null = null) =>
  ({ id, status, status_detail: detail, reported_metrics: lossStep === undefined ? null : { loss: { step: lossStep, value: 0 } } }) as Job;

describe("early stopping's flags", () => {
  it("read into the batch's stop_early, saying what to fix", () => {
    expect(stopEarlyOf({})).toBeUndefined();
    expect(stopEarlyOf({ stopEarly: "val_loss:min" })).toEqual({ metric: "val_loss", mode: "min", after_step: 1 });
    expect(stopEarlyOf({ stopEarly: "val/accuracy:max", stopEarlyAfter: 5 })).toEqual({ metric: "val/accuracy", mode: "max", after_step: 5 });
    expect(() => stopEarlyOf({ stopEarly: "val_loss" })).toThrow(UsageError);
    expect(() => stopEarlyOf({ stopEarly: "val_loss:lowest" })).toThrow(/which way is better/);
    expect(() => stopEarlyOf({ stopEarly: "loss:min", stopEarlyAfter: 0 })).toThrow(/--stop-early-after is a step, at least 1/);
    // What the API would refuse is refused here, by the same schema.
    expect(() => stopEarlyOf({ stopEarly: "loss:min", stopEarlyAfter: 1e16 })).toThrow(/--stop-early-after is a step, at least 1 and at most 1000000000000000; got 10000000000000000/);
    expect(() => stopEarlyOf({ stopEarly: "__proto__:min" })).toThrow(/which way is better/);
    expect(() => stopEarlyOf({ stopEarly: `${"x".repeat(65)}:min` })).toThrow(/which way is better/);
    expect(() => stopEarlyOf({ stopEarlyAfter: 3 })).toThrow(/goes with --stop-early/);
  });

  it("say once the sweep has ended how many jobs were stopped, or that none reported the metric", () => {
    const rule = { metric: "loss", mode: "min", after_step: 1 } as const;
    const stopped = job("s", "canceled", 3, canceledByCreator("stopped early at step 3: …"));
    expect(stopEarlySummary(rule, [job("a", "succeeded", 9), stopped, job("c", "canceled", 2, canceledByCreator())])).toBe("[pond: 1 of 3 jobs stopped early by loss (lower is better)]");
    expect(stopEarlySummary(rule, [job("a", "succeeded"), job("b", "failed")])).toBe("[pond: no job reported loss (POND_METRICS lines): none could be stopped early]");
  });

  it("count a sweep whose only unsuccessful jobs were stopped early as one that went as asked", () => {
    const stopped = job("s", "canceled", undefined, canceledByCreator("stopped early at step 3: …"));
    expect(stoppedEarly(stopped)).toBe(true);
    expect(stoppedEarly(job("c", "canceled", undefined, canceledByCreator()))).toBe(false);
    expect(stoppedEarly(job("c", "canceled", undefined, canceledByCreator("wrong data set")))).toBe(false);
    expect(stoppedEarly(job("f", "failed", undefined, "stopped early at step 3"))).toBe(false);
    expect(sweepSucceeded([job("a", "succeeded"), stopped])).toBe(true);
    expect(sweepSucceeded([job("a", "succeeded"), stopped, job("f", "failed")])).toBe(false);
  });
});
