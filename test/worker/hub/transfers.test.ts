// How a job's data moved, as the hub records it: the inputs in a provider's
// result, an outputs download it served in a `job.transfer` report, and only
// from the job's own provider.
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import type { Job } from "../../../protocol/job.ts";
import { eventually } from "../../helpers/eventually.ts";
import { assignedJob } from "../assignedJob.ts";
import { call } from "../client.ts";
import { connectProvider } from "../providerSocket.ts";

const jobOf = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

describe("metrics.transfer", () => {
  it("is null both ways until something moved", async () => {
    const { key, job } = await assignedJob();
    expect((await jobOf(key, job.id)).metrics.transfer).toEqual({ inputs: null, outputs: null });
  });

  it("records the inputs from a result and the outputs from the provider's report, one not clobbering the other", async () => {
    const { key, job, provider } = await assignedJob();
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.transfer", job_id: job.id, direction: "outputs", transfer: { route: "turn", bytes: 2048, ms: 30 } });
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: job.id, outcome: "failed", exit_code: 1, error: "exited with code 1", manifest: null, amount_wei: "0", signature: null, metrics: { pull_ms: 1, run_ms: 2, inputs_transfer: { route: "direct", bytes: 1024, ms: 12 } } });
    const done = await eventually(async () => {
      const current = await jobOf(key, job.id);
      return current.status === "failed" && current;
    });
    expect(done.metrics.transfer).toEqual({ inputs: { route: "direct", bytes: 1024, ms: 12 }, outputs: { route: "turn", bytes: 2048, ms: 30 } });
  });

  it("ignores a report from a provider the job is not assigned to", async () => {
    const { key, job } = await assignedJob();
    const other = await connectProvider({});
    other.send({ v: HUB_PROTOCOL_VERSION, type: "job.transfer", job_id: job.id, direction: "outputs", transfer: { route: "direct", bytes: 1, ms: 1 } });
    const error = await other.next("error");
    expect(error.message).toMatch(/not found among yours/);
    expect((await jobOf(key, job.id)).metrics.transfer.outputs).toBeNull();
  });
});
