import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { newSweepId, parseGrid, pointLabels, pointOfLabels, pointsOf, sweepLimits } from "../../cli/sweep/grid.ts";
import { JobLabels } from "../../protocol/labels.ts";

const refused = (flags: string[]) => {
  try {
    parseGrid(flags);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(flags)} was accepted`);
};

describe("a sweep's grid", () => {
  it("is every combination of the values given, the last name varying fastest", () => {
    const points = pointsOf(parseGrid(["lr=0.1,0.01", "hidden=32, 64,128"]));
    expect(points.map((point) => point.map(([name, value]) => `${name}=${value}`).join(" "))).toEqual([
      "lr=0.1 hidden=32",
      "lr=0.1 hidden=64",
      "lr=0.1 hidden=128",
      "lr=0.01 hidden=32",
      "lr=0.01 hidden=64",
      "lr=0.01 hidden=128",
    ]);
    expect(pointsOf(parseGrid(["seed=7"]))).toEqual([[["seed", "7"]]]);
  });

  it("takes exactly its most jobs and names, and refuses one more of either, saying how big it is", () => {
    const hundred = Array.from({ length: sweepLimits.maxJobs }, (_, i) => i).join(",");
    expect(pointsOf(parseGrid([`seed=${hundred}`]))).toHaveLength(sweepLimits.maxJobs);
    expect(refused([`seed=${hundred},100`])).toMatch(/101 jobs; a sweep is at most 100/);
    expect(refused(["a=1,2,3,4,5", "b=1,2,3,4,5", "c=1,2,3,4,5"])).toMatch(/5 × 5 × 5 = 125 jobs/);
    const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}=1`);
    expect(pointsOf(parseGrid(names(sweepLimits.maxAxes)))).toHaveLength(1);
    expect(refused(names(sweepLimits.maxAxes + 1))).toMatch(/at most 8 names/);
  });

  it("refuses what would make an unclear or unlabelable point, saying which", () => {
    expect(refused(["lr"])).toMatch(/NAME=VALUE,VALUE/);
    expect(refused(["=1,2"])).toMatch(/NAME=VALUE,VALUE/);
    expect(refused(["lr="])).toMatch(/NAME=VALUE,VALUE/);
    expect(refused(["lr=0.1,,0.2"])).toMatch(/empty value/);
    expect(refused(["lr=0.1,0.1"])).toMatch(/lists 0.1 twice/);
    expect(refused(["lr=0.1", "lr=0.2"])).toMatch(/given twice/);
    expect(refused(["a b=1"])).toMatch(/letters, digits/);
    expect(refused([`${"n".repeat(60)}=1`])).toMatch(/at most 52/);
    expect(refused([`msg=${"x".repeat(129)}`])).toMatch(/Too big: .*128/);
    // Control characters in any value, not only the first point's: refused before a job exists.
    expect(refused(["msg=ok,a\tb"])).toMatch(/the value "a\\tb" must not contain control characters/);
    expect(refused(["msg=ok,\u001b[2J"])).toMatch(/must not contain control characters/);
    expect(refused(["msg=ok,\u001b[2J"])).not.toMatch(/\u001b/);
  });

  it("labels each point so that it reads back the same, within the API's label rules", () => {
    const [point] = pointsOf(parseGrid(["lr=0.01", "note=a=b c"]));
    const id = newSweepId();
    expect(id).toMatch(/^swp_[0-9a-f]{10}$/);
    const labels = pointLabels(id, point!);
    expect(labels).toEqual({ "pond.sweep": id, "pond.sweep/lr": "0.01", "pond.sweep/note": "a=b c" });
    expect(JobLabels.safeParse(labels).success).toBe(true);
    expect(pointOfLabels({ mine: "x", ...labels })).toEqual(point);
    // Eight names at their longest still fit a job's labels, with room for the creator's own.
    const widest = pointsOf(parseGrid(Array.from({ length: sweepLimits.maxAxes }, (_, i) => `${String(i).padEnd(52, "n")}=${"v".repeat(128)}`)))[0]!;
    expect(JobLabels.safeParse({ ...pointLabels(id, widest), a: "1", b: "2", c: "3", d: "4", e: "5", f: "6", g: "7" }).success).toBe(true);
  });
});
