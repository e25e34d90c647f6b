// What the CLI prints about a job's network egress.
import { describe, expect, it } from "vitest";
import { describeEgress } from "../../cli/egressSummary.ts";
import type { Job } from "../../protocol/job.ts";

const job = (network: Job["spec"]["network"], egress: Job["metrics"]["egress"]) =>
  ({ spec: { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 60, max_price_wei: "1", ...(network ? { network } : {}) }, metrics: { queue_ms: null, pull_ms: null, run_ms: null, transfer: { inputs: null, outputs: null }, egress } }) as Pick<Job, "spec" | "metrics">;

describe("describeEgress", () => {
  it("says nothing for a job without network access", () => {
    expect(describeEgress(job(undefined, null))).toEqual([]);
  });

  it("lists the hosts a job may reach, what it moved to each, and what was refused", () => {
    const refusals = [{ host: "cdn-lfs.huggingface.co", port: 443, status: 403, reason: "cdn-lfs.huggingface.co:443 is not in this job's network allow list", count: 1 }];
    const usage = { hosts: [{ host: "huggingface.co", port: 443, connections: 2, bytes_out: 2048, bytes_in: 5 * 1024 * 1024 }], refused: 1, refusals };
    expect(describeEgress(job({ allow: ["huggingface.co", "*.hf.co"] }, usage))).toEqual([
      "  network: may reach huggingface.co, *.hf.co",
      "  egress huggingface.co:443: 2 connections, 2.0 KiB out, 5.0 MiB in",
      "  egress refused 1 connection (hosts not allowed, or not public)",
      "    403 ×1: cdn-lfs.huggingface.co:443 is not in this job's network allow list",
    ]);
  });

  it("shows the allowlist alone while the job has not reported", () => {
    expect(describeEgress(job({ allow: ["huggingface.co"] }, null))).toEqual(["  network: may reach huggingface.co"]);
  });
});
