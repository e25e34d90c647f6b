// A reported metric as the job page draws it: steps against values, a NaN a gap, and its caption.
import { describe, expect, it } from "vitest";
import { metricCaption, metricColumns } from "../../web/charts/metricSeries.ts";

const at = new Date(0).toISOString();
const series = (points: [number, number | null][], every = 1, reported = points.length) => ({ points: points.map(([step, value]) => ({ step, value, time: at })), every, reported });

describe("a metric's curve on the job page", () => {
  it("puts the steps on x and the values on y, a NaN as a gap", () => {
    expect(metricColumns(series([[1, 2.5], [2, null], [4, 0.5]]))).toEqual([[1, 2, 4], [2.5, null, 0.5]]);
  });

  it("says the newest point, the range of the numbers, and how thinned a long curve is", () => {
    expect(metricCaption(series([[1, 2.5], [2, 0.123456]]))).toBe("step 2: 0.1235 (lowest 0.1235, highest 2.5)");
    expect(metricCaption(series([[1, null]]))).toBe("step 1: NaN");
    expect(metricCaption(series([[16, 1], [32, 2]], 16, 40))).toBe("step 32: 2 (lowest 1, highest 2); one point of every 16 of 40 shown");
    expect(metricCaption(series([]))).toBe("no points yet");
  });
});
