// A job's reported metrics as `pond jobs metrics` and `pond jobs get` print them,
// and `--follow`'s rows as steps come in.
import { describe, expect, it } from "vitest";
import type { Job } from "../../protocol/job.ts";
import type { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { followReportedMetrics, MetricRows } from "../../cli/followMetrics.ts";
import { describeLatestReported, describeReportedMetrics, sparkline } from "../../cli/reportedMetricsView.ts";
import { PondApiError } from "../../sdk/index.ts";

const at = new Date(0).toISOString();
const series = (points: [number, number | null][], every = 1) => ({ points: points.map(([step, value]) => ({ step, value, time: at })), reported: points.length * every, every });
const reported = (named: ReportedMetrics["series"], ignored = { lines: 0, last_reason: null as string | null }): ReportedMetrics => ({ job_id: "job_1", series: named, ignored });

describe("sparkline", () => {
  it("draws a falling loss falling, a flat curve flat, and a NaN as a gap", () => {
    expect(sparkline([8, 7, 6, 5, 4, 3, 2, 1])).toBe("█▇▆▅▄▃▂▁");
    expect(sparkline([2, 2, 2])).toBe("▄▄▄");
    expect(sparkline([1, null, 3])).toBe("▁ █");
  });

  it("averages a long curve into its width", () => {
    const line = sparkline(Array.from({ length: 1000 }, (_, i) => i), 10);
    expect(line).toHaveLength(10);
    expect(line[0]).toBe("▁");
    expect(line.at(-1)).toBe("█");
  });
});

describe("describeReportedMetrics", () => {
  it("gives each name's newest step and value, its range and curve, and what was not read", () => {
    const lines = describeReportedMetrics(
      reported({ loss: series([[1, 2], [2, 1], [3, 0.123456]], 4), val_accuracy: series([[1, 0.5], [2, null]]) }, { lines: 2, last_reason: '"loss" must be a number; it is "\u001b[31mred"' }),
    );
    expect(lines[0]).toMatch(/^metric\s+step\s+newest\s+lowest … highest\s+curve$/);
    expect(lines[1]).toMatch(/^loss\s+3\s+0\.1235\s+0\.1235 … 2\s+█▄▁ \(1 point of 4\)$/);
    expect(lines[2]).toMatch(/^val_accuracy\s+2\s+NaN\s+0\.5 … 0\.5\s+▄ $/);
    expect(lines[3]).toContain("2 lines starting with POND_METRICS not read");
    expect(lines[3]).not.toContain("\u001b");
  });

  it("says how to report metrics when a job has none", () => {
    expect(describeReportedMetrics(reported({}))[0]).toContain('POND_METRICS {"step": 1, "loss": 0.5}');
  });

  it("puts the newest of each on the job's summary, marking a name behind the others", () => {
    expect(describeLatestReported({ reported_metrics: null })).toEqual([]);
    expect(describeLatestReported({ reported_metrics: { loss: { step: 30, value: 0.02 }, val_accuracy: { step: 29, value: 0.975 } } })).toEqual([
      "  reported at step 30: loss 0.02, val_accuracy 0.975 (step 29)",
    ]);
  });
});

describe("following a job's metrics", () => {
  it("prints each step once, as it comes, and says when a resumed run went back", () => {
    const rows = new MetricRows();
    expect(rows.rows(reported({ loss: series([[1, 0.5]]) }))).toEqual(["step 1  loss 0.5"]);
    expect(rows.rows(reported({ loss: series([[1, 0.5], [2, 0.4]]), acc: series([[2, 0.9]]) }))).toEqual(["step 2  loss 0.4  acc 0.9"]);
    expect(rows.rows(reported({ loss: series([[1, 0.5], [2, 0.4]]) }))).toEqual([]);
    expect(rows.rows(reported({ loss: series([[1, 0.5], [2, 0.41], [3, 0.3], [4, 0.2], [5, 0.1]]) }))).toEqual(["step 3  loss 0.3", "step 4  loss 0.2", "step 5  loss 0.1"]);
    expect(rows.rows(reported({ loss: series([[1, 0.5], [2, 0.41], [3, 0.33]]) }))).toEqual(["(back to step 3: the run resumed from a checkpoint)", "step 3  loss 0.33"]);
    expect(rows.rows(reported({ loss: series([[1, 0.5], [2, 0.41], [3, 0.33], [4, 0.22]]) }))).toEqual(["step 4  loss 0.22"]);
  });

  it("gives a value that comes after its step's row a row of its own", () => {
    const rows = new MetricRows();
    expect(rows.rows(reported({ loss: series([[10, 0.5]]) }))).toEqual(["step 10  loss 0.5"]);
    expect(rows.rows(reported({ loss: series([[10, 0.5]]), val_loss: series([[10, 0.7]]) }))).toEqual(["step 10  val_loss 0.7"]);
  });

  it("reads the points only when the job says they moved, waits out a blip in the API, and reads them once more at the end", async () => {
    const latest = (step: number) => ({ loss: { step, value: 1 / step } });
    // What each look at the job finds: its status and newest step, or a 503.
    const looks: Array<[Job["status"], number] | "503"> = [["processing", 1], ["processing", 1], "503", ["processing", 2], ["succeeded", 3]];
    const curves: Record<number, ReportedMetrics> = {
      1: reported({ loss: series([[1, 1]]) }),
      2: reported({ loss: series([[1, 1], [2, 0.5]]) }),
      3: reported({ loss: series([[1, 1], [2, 0.5], [3, 0.25]]) }),
    };
    let look = 0;
    let step = 1;
    let reads = 0;
    const written: string[] = [];
    const ended = await followReportedMetrics(
      {
        getJob: async () => {
          const now = looks[Math.min(look++, looks.length - 1)]!;
          if (now === "503") throw new PondApiError({ type: "about:blank", title: "Unavailable", status: 503, detail: "try again" });
          step = now[1];
          return { id: "job_1", status: now[0], reported_metrics: latest(step) } as unknown as Job;
        },
        reportedMetrics: async () => {
          reads++;
          return curves[step]!;
        },
      },
      "job_1",
      { write: (line) => written.push(line), sleep: async () => undefined },
    );
    expect(written).toEqual(["step 1  loss 1", "step 2  loss 0.5", "step 3  loss 0.25"]);
    expect(ended.job.status).toBe("succeeded");
    expect(reads).toBe(3);
  });

  it("gives up on an API that keeps failing, and at once on a refusal", async () => {
    const failing = (status: number) => ({
      getJob: async (): Promise<Job> => {
        throw new PondApiError({ type: "about:blank", title: "No", status, detail: "no" });
      },
      reportedMetrics: async (): Promise<ReportedMetrics> => reported({}),
    });
    let sleeps = 0;
    await expect(followReportedMetrics(failing(503), "job_1", { write: () => undefined, sleep: async () => void sleeps++ })).rejects.toThrow(/503/);
    expect(sleeps).toBe(14);
    sleeps = 0;
    await expect(followReportedMetrics(failing(404), "job_1", { write: () => undefined, sleep: async () => void sleeps++ })).rejects.toThrow(/404/);
    expect(sleeps).toBe(0);
  });
});
