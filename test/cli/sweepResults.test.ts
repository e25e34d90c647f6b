import { describe, expect, it } from "vitest";
import { describeSweep, sweepResults, type MetricsReader } from "../../cli/sweep/sweepResults.ts";
import type { Job } from "../../protocol/job.ts";

const sha = "ab".repeat(32);
function job(id: string, lr: string, status: Job["status"], files: Record<string, string> = {}, error: string | null = null): Job {
  return {
    id,
    status,
    error,
    labels: { "pond.sweep": "swp_0123456789", "pond.sweep/lr": lr },
    output: status === "succeeded" ? { files: Object.entries(files).map(([path, text]) => ({ path, size: text.length, sha256: sha })) } : null,
  } as unknown as Job;
}

/** Serves each job's files as written; counts the reads. */
function reader(jobs: Job[], contents: Record<string, Record<string, string>>): MetricsReader & { reads: number } {
  return {
    reads: 0,
    async downloadOutput(id, path) {
      this.reads++;
      const text = contents[id]?.[path];
      if (text === undefined) throw new Error(`no ${path} in ${id}`);
      return new TextEncoder().encode(text);
    },
  };
}

const files = {
  job_a: { "metrics.json": JSON.stringify({ accuracy: 0.91, loss: 0.3, params: { lr: 0.1 }, note: "x" }) },
  job_b: { "metrics.json": JSON.stringify({ accuracy: 0.975123, loss: 0.08 }) },
  job_c: { "metrics.json": "not json {" },
  job_d: {},
  job_e: { "metrics.json": "[1, 2]" },
};
const jobs = [
  job("job_a", "0.1", "succeeded", files.job_a),
  job("job_b", "0.01", "succeeded", files.job_b),
  job("job_c", "0.001", "succeeded", files.job_c),
  job("job_d", "1", "failed", {}, "exit code 3"),
  job("job_e", "0.5", "succeeded", files.job_e),
  job("job_f", "2", "succeeded", {}),
];

describe("a sweep's results", () => {
  it("reads each succeeded job's top-level numbers, says why a job has none, and picks the best by the metric", async () => {
    const source = reader(jobs, files);
    const results = await sweepResults(source, "swp_0123456789", jobs, { metricsFile: "metrics.json", metric: "accuracy", minimize: false });
    expect(results.best).toBe("job_b");
    expect(results.jobs.map((j) => [j.id, j.point, j.metrics, j.metrics_note])).toEqual([
      ["job_a", { lr: "0.1" }, { accuracy: 0.91, loss: 0.3 }, undefined],
      ["job_b", { lr: "0.01" }, { accuracy: 0.975123, loss: 0.08 }, undefined],
      ["job_c", { lr: "0.001" }, null, "its metrics.json is not JSON"],
      ["job_d", { lr: "1" }, null, undefined],
      ["job_e", { lr: "0.5" }, null, "its metrics.json is not a JSON object"],
      ["job_f", { lr: "2" }, null, "left no metrics.json"],
    ]);
    // A job that failed or left no file is not read.
    expect(source.reads).toBe(4);
    expect((await sweepResults(source, "s", jobs, { metricsFile: "metrics.json", metric: "loss", minimize: true })).best).toBe("job_b");
    expect((await sweepResults(source, "s", jobs, { metricsFile: "metrics.json", metric: "nope", minimize: false })).best).toBeNull();
  });

  it("prints a table ranked best first, those without the metric last, with failures and the best named", async () => {
    const results = await sweepResults(reader(jobs, files), "swp_0123456789", jobs, { metricsFile: "metrics.json", metric: "loss", minimize: true });
    const lines = describeSweep(results);
    expect(lines[0]).toBe("sweep swp_0123456789: 5 of 6 succeeded");
    expect(lines[1]).toMatch(/^\s+job\s+lr\s+status\s+loss\s+accuracy$/);
    expect(lines.slice(2, 8).map((line) => line.split(/\s+/).filter(Boolean).slice(0, 2).join(" "))).toEqual(["* job_b", "job_a 0.1", "job_c 0.001", "job_d 1", "job_e 0.5", "job_f 2"]);
    expect(lines[2]).toMatch(/job_b\s+0\.01\s+succeeded\s+0\.08\s+0\.9751$/);
    expect(lines).toContain("  job_d (lr=1) failed: exit code 3");
    expect(lines).toContain("  job_f (lr=2) left no metrics.json");
    expect(lines.at(-1)).toBe("best by loss (lowest): job_b (lr=0.01): loss 0.08");
  });

  it("keeps the grid's order without a metric, and says which it could rank by", async () => {
    const lines = describeSweep(await sweepResults(reader(jobs, files), "s", jobs, { metricsFile: "metrics.json", minimize: false }));
    expect(lines.slice(2, 8).map((line) => line.trim().split(/\s+/)[0])).toEqual(["job_a", "job_b", "job_c", "job_d", "job_e", "job_f"]);
    expect(lines.at(-1)).toBe("rank them with --metric NAME (one of accuracy, loss; --minimize for a loss)");
  });

  it("takes a metrics file nested a million deep, within the bound, as no metrics, the other jobs' read as ever", async () => {
    const nested = "[".repeat(500_000) + "]".repeat(500_000);
    const deep = job("job_deep", "1", "succeeded", { "metrics.json": nested });
    const results = await sweepResults(reader([deep, jobs[1]!], { job_deep: { "metrics.json": nested }, ...files }), "s", [deep, jobs[1]!], { metricsFile: "metrics.json", metric: "accuracy", minimize: false });
    expect(results.jobs.map((j) => [j.id, j.metrics_note ?? null])).toEqual([["job_deep", "its metrics.json is not a JSON object"], ["job_b", null]]);
    expect(results.best).toBe("job_b");
  });

  it("does not read a metrics file past its bound", async () => {
    const huge = job("job_h", "1", "succeeded", { "metrics.json": "" });
    (huge.output!.files[0] as { size: number }).size = 2 * 1024 * 1024;
    const source = reader([huge], {});
    const results = await sweepResults(source, "s", [huge], { metricsFile: "metrics.json", minimize: false });
    expect(results.jobs[0]!.metrics_note).toMatch(/is 2097152 bytes; a metrics file is read only up to 1048576/);
    expect(source.reads).toBe(0);
  });

  it("escapes what a job's own file names, lists few of its names, and never ranks by an inherited property", async () => {
    const keys = Object.fromEntries([["\u001b[2Jwiped", 1], ...Array.from({ length: 30 }, (_, i) => [`m${i}`, i])]);
    const hostile = job("job_x", "\u009b31m", "succeeded", { "metrics.json": JSON.stringify(keys) });
    const source = reader([hostile], { job_x: { "metrics.json": JSON.stringify(keys) } });
    for (const metric of [undefined, "nope", "constructor", "__proto__", "toString"]) {
      const results = await sweepResults(source, "s", [hostile], { metricsFile: "metrics.json", ...(metric ? { metric } : {}), minimize: false });
      expect(results.best).toBeNull();
      const text = describeSweep(results).join("\n");
      expect(text).not.toMatch(/[\u001b\u009b]/);
      expect(text).toContain("\\u001b[2Jwiped");
    }
    const hint = describeSweep(await sweepResults(source, "s", [hostile], { metricsFile: "metrics.json", minimize: false })).at(-1)!;
    expect(hint).toMatch(/one of \\u001b\[2Jwiped, m0, .*, m10, … \(31 in all\)/);
  });
});


describe("a sweep still running, or stopped early in part", () => {
  it("says where each running job stands by the step it reported, and why a stopped one was stopped", async () => {
    const running = { ...job("job_r", "0.1", "processing"), status_detail: null, reported_metrics: { loss: { step: 12, value: 0.5 }, val_loss: { step: 11, value: 0.6 } } } as Job;
    const quiet = { ...job("job_q", "0.2", "processing"), status_detail: null, reported_metrics: null } as Job;
    const stopped = { ...job("job_s", "1", "canceled"), status_detail: "canceled by its creator: stopped early at step 4: its best loss 9 is above the median 1 of 3 other runs' averages there", reported_metrics: { loss: { step: 4, value: 9 } } } as Job;
    const done = job("job_b", "0.01", "succeeded", files.job_b);
    const results = await sweepResults(reader([], files), "swp_0123456789", [running, quiet, stopped, done], { metricsFile: "metrics.json", minimize: false });
    expect(results.jobs.map((j) => j.reported_step)).toEqual([12, null, 4, null]);
    const lines = describeSweep(results);
    expect(lines[0]).toBe("sweep swp_0123456789: 1 of 4 succeeded, 1 stopped early");
    expect(lines.find((line) => line.includes("job_r"))).toMatch(/job_r\s+0\.1\s+processing \(step 12\)/);
    expect(lines.find((line) => line.includes("job_q"))).toMatch(/job_q\s+0\.2\s+processing(\s|$)/);
    expect(lines).toContain("  job_s (lr=1) canceled: canceled by its creator: stopped early at step 4: its best loss 9 is above the median 1 of 3 other runs' averages there");
  });
});
