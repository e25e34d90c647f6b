// The median stopping rule on the jobs' reported curves (protocol/medianRule.ts),
// and the batch's stop_early as the API reads it (protocol/stopEarly.ts).
import { describe, expect, it } from "vitest";
import { medianStops, type Curve, type StopRule } from "../../protocol/medianRule.ts";
import { StopEarly, stopRuleOf } from "../../protocol/stopEarly.ts";

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

});

describe("stop_early", () => {
  it("reads a metric, which way is better and a first step, and refuses what the rule could not use", () => {
    expect(stopRuleOf(StopEarly.parse({ metric: "val_loss", mode: "min" }))).toEqual({ metric: "val_loss", minimize: true, graceSteps: 1, minOthers: 3 });
    expect(stopRuleOf(StopEarly.parse({ metric: "val/accuracy", mode: "max", after_step: 5 }))).toEqual({ metric: "val/accuracy", minimize: false, graceSteps: 5, minOthers: 3 });
    for (const bad of [
      { metric: "val loss", mode: "min" },
      { metric: "1loss", mode: "min" },
      { metric: "x".repeat(65), mode: "min" },
      // A name no job may report under (a series under it would vanish into the prototype).
      { metric: "__proto__", mode: "min" },
      { metric: "loss", mode: "lowest" },
      { metric: "loss", mode: "min", after_step: 0 },
      { metric: "loss", mode: "min", after_step: 1.5 },
      { metric: "loss", mode: "min", patience: 3 },
    ]) {
      expect(StopEarly.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
