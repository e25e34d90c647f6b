// Random search for sweeps: `--sample NAME=KIND:…` with `--trials N` (and `--seed`),
// alone or crossed with a grid. Draws are seeded (the same flags and seed, the same
// points), stay in their ranges, spread as their kind says, and every drawn value
// is a label the API takes.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { checkedLabels } from "../../cli/runRequests.ts";
import { pointLabels, pointOfLabels } from "../../cli/sweep/grid.ts";
import { parseSamples, samplePoints } from "../../cli/sweep/sampling.ts";
import { sweepPointsOf, type SweepFlags } from "../../cli/sweep/sweepPoints.ts";

const refused = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error("it was accepted");
};
const valuesOf = (flags: SweepFlags, name: string) => sweepPointsOf(flags).points.map((point) => point.find(([n]) => n === name)![1]);

describe("a sweep's random search", () => {
  it("reads each kind of range, and refuses one it cannot draw from, saying why", () => {
    expect(parseSamples(["lr=log:1e-4,0.1", "dropout=uniform:0,0.5", "hidden=int:16,256", "act=choice:relu,gelu"])).toEqual([
      { name: "lr", distribution: { kind: "log", low: 0.0001, high: 0.1 } },
      { name: "dropout", distribution: { kind: "uniform", low: 0, high: 0.5 } },
      { name: "hidden", distribution: { kind: "int", low: 16, high: 256 } },
      { name: "act", distribution: { kind: "choice", values: ["relu", "gelu"] } },
    ]);
    expect(refused(() => parseSamples(["lr"]))).toMatch(/--sample NAME=uniform:LOW,HIGH/);
    expect(refused(() => parseSamples(["lr=normal:0,1"]))).toMatch(/"normal" is not a kind/);
    expect(refused(() => parseSamples(["lr=uniform:1,1"]))).toMatch(/the first below the second/);
    expect(refused(() => parseSamples(["lr=uniform:0,x"]))).toMatch(/needs two numbers/);
    expect(refused(() => parseSamples(["lr=log:0,1"]))).toMatch(/above 0/);
    expect(refused(() => parseSamples(["n=int:1,2.5"]))).toMatch(/whole numbers/);
    expect(refused(() => parseSamples(["act=choice:relu"]))).toMatch(/two values or more/);
    expect(refused(() => parseSamples(["act=choice:relu,relu,gelu"]))).toMatch(/lists relu twice/);
    expect(refused(() => parseSamples(["x=uniform:-1e308,1e308"]))).toMatch(/within ±1000000000000000/);
    expect(refused(() => parseSamples(["lr=log:1e-20,1"]))).toMatch(/start at 1e-15 or above/);
    expect(refused(() => parseSamples(["a b=uniform:0,1"]))).toMatch(/a name is letters/);
    expect(refused(() => parseSamples(["lr=log:1e-4,1", "lr=log:1e-3,1"]))).toMatch(/given twice/);
    expect(refused(() => parseSamples([`act=choice:relu,${"x".repeat(200)}`]))).toMatch(/--sample act: the value/);
  });

  it("draws the same points from the same seed, others from another, each value within its range", () => {
    const flags = { sample: ["lr=log:1e-4,0.1", "dropout=uniform:0,0.5", "hidden=int:16,256", "act=choice:relu,gelu,silu"], trials: 100, seed: 7 };
    const first = sweepPointsOf(flags);
    expect(sweepPointsOf(flags).points).toEqual(first.points);
    expect(sweepPointsOf({ ...flags, seed: 8 }).points).not.toEqual(first.points);
    expect(first.points).toHaveLength(100);
    for (const point of first.points) {
      const value = Object.fromEntries(point);
      expect(Number(value.lr)).toBeGreaterThanOrEqual(0.0001);
      expect(Number(value.lr)).toBeLessThanOrEqual(0.1);
      expect(Number(value.dropout)).toBeGreaterThanOrEqual(0);
      expect(Number(value.dropout)).toBeLessThanOrEqual(0.5);
      expect(Number.isInteger(Number(value.hidden))).toBe(true);
      expect(["relu", "gelu", "silu"]).toContain(value.act);
      // Short, and never in exponent form: a table stays readable, a shell or a parser reads it as written.
      expect(value.lr).toMatch(/^0\.0*\d{1,4}$/);
    }
    expect(first.description).toBe("100 trials of lr log 0.0001..0.1, dropout uniform 0..0.5, hidden int 16..256, act from relu|gelu|silu; seed 7");
  });

  it("spreads a log range over its decades, where a uniform one would crowd its top", () => {
    // Log-uniform over 1e-4..1: a quarter of the draws fall in each decade; uniform puts 1% below 0.01.
    const log = valuesOf({ sample: ["lr=log:1e-4,1"], trials: 100, seed: 1 }, "lr").map(Number);
    const uniform = valuesOf({ sample: ["lr=uniform:1e-4,1"], trials: 100, seed: 1 }, "lr").map(Number);
    expect(log.filter((v) => v < 0.01).length).toBeGreaterThan(30);
    expect(uniform.filter((v) => v < 0.01).length).toBeLessThan(10);
    // Every integer of a small range turns up, and nothing outside it.
    expect(new Set(valuesOf({ sample: ["n=int:1,4"], trials: 100, seed: 3 }, "n"))).toEqual(new Set(["1", "2", "3", "4"]));
  });

  it("gives every grid point its own trials, and counts them against one batch", () => {
    const { points, description, seed } = sweepPointsOf({ grid: ["seed=1,2"], sample: ["lr=log:1e-4,0.1"], trials: 3, seed: 42 });
    expect(points.map((point) => point.map(([name]) => name))).toEqual(Array(6).fill(["seed", "lr"]));
    expect(points.map((point) => point[0]![1])).toEqual(["1", "1", "1", "2", "2", "2"]);
    expect(seed).toBe(42);
    expect(description).toBe("2 seed, 3 trials of lr log 0.0001..0.1 each; seed 42");
    expect(refused(() => sweepPointsOf({ grid: ["seed=1,2,3"], sample: ["lr=log:1e-4,0.1"], trials: 34 }))).toMatch(/3 seed grid points × 34 trials = 102 jobs; a sweep is at most 100/);
    expect(sweepPointsOf({ sample: ["lr=log:1e-4,0.1"], trials: 100 }).points).toHaveLength(100);
    expect(refused(() => sweepPointsOf({ sample: ["lr=log:1e-4,0.1"], trials: 101 }))).toMatch(/101 trials = 101 jobs/);
    // Each point's labels are ones the API takes; the seed rides beside the point, not as a name of it.
    for (const point of points) {
      const labels = checkedLabels(pointLabels("swp_0123456789", point, seed));
      expect(labels["pond.sweep.seed"]).toBe("42");
      expect(pointOfLabels(labels)).toEqual(point);
    }
  });

  it("says what is missing or clashes: trials without a range, a range without trials, a name twice, a seed out of range", () => {
    expect(refused(() => sweepPointsOf({ grid: ["x=1,2"], trials: 3 }))).toMatch(/--trials and --seed draw random points: say what to draw with --sample/);
    expect(refused(() => sweepPointsOf({ sample: ["lr=log:1e-4,0.1"] }))).toMatch(/say how many with --trials N/);
    expect(refused(() => sweepPointsOf({ sample: ["lr=log:1e-4,0.1"], trials: 0 }))).toMatch(/--trials must be 1 or more/);
    expect(refused(() => sweepPointsOf({ grid: ["lr=0.1,0.01"], sample: ["lr=log:1e-4,0.1"], trials: 2 }))).toMatch(/lr is given by --grid and by --sample/);
    expect(refused(() => sweepPointsOf({ sample: ["lr=log:1e-4,0.1"], trials: 2, seed: -1 }))).toMatch(/--seed is a whole number from 0/);
    const nine = Array.from({ length: 9 }, (_, i) => `p${i}=uniform:0,1`);
    expect(refused(() => sweepPointsOf({ sample: nine, trials: 2 }))).toMatch(/at most 8 names; this one varies 9/);
    // Without a seed one is drawn, said, and used.
    const unseeded = sweepPointsOf({ sample: ["lr=log:1e-4,0.1"], trials: 5 });
    expect(unseeded.description).toContain(`; seed ${unseeded.seed}`);
    expect(samplePoints([[]], parseSamples(["lr=log:1e-4,0.1"]), 5, unseeded.seed!)).toEqual(unseeded.points);
  });

  it("starts small seeds far apart: the first draw of seeds 0 to 199 spreads over the whole range", () => {
    const firsts = Array.from({ length: 200 }, (_, seed) => Number(valuesOf({ sample: ["u=uniform:0,1"], trials: 1, seed }, "u")[0]));
    const deciles = Array.from({ length: 10 }, (_, d) => firsts.filter((u) => u >= d / 10 && u < (d + 1) / 10).length);
    for (const count of deciles) expect(count).toBeGreaterThan(5);
    // Neighbouring seeds' first integers are not a count down.
    const ints = [0, 1, 2, 3, 4].map((seed) => valuesOf({ sample: ["n=int:16,128"], trials: 1, seed }, "n")[0]);
    expect(new Set(ints.map((n, i) => Number(n) - i)).size).toBeGreaterThan(1);
  });

  it("rounds a narrow range to a step fine enough to keep it, never outside it, and never to an exponent", () => {
    const within = (spec: string, low: number, high: number) => {
      const values = valuesOf({ sample: [`x=${spec}`], trials: 100, seed: 9 }, "x");
      for (const value of values) {
        expect(value).not.toMatch(/e/i);
        expect(Number(value)).toBeGreaterThanOrEqual(low);
        expect(Number(value)).toBeLessThanOrEqual(high);
      }
      return new Set(values).size;
    };
    expect(within("uniform:1.00001,1.00009", 1.00001, 1.00009)).toBeGreaterThan(20);
    expect(within("uniform:0.12345,0.12346", 0.12345, 0.12346)).toBeGreaterThan(20);
    expect(within("uniform:10000,10010", 10000, 10010)).toBeGreaterThan(20);
    expect(within("log:0.999,0.99999", 0.999, 0.99999)).toBeGreaterThan(20);
    expect(within("log:1e-8,1e-6", 1e-8, 1e-6)).toBeGreaterThan(20);
    expect(within("uniform:-0.001,0.001", -0.001, 0.001)).toBeGreaterThan(20);
    expect(valuesOf({ sample: ["x=uniform:-0.001,0.001"], trials: 100, seed: 9 }, "x")).not.toContain("-0");
  });
});
