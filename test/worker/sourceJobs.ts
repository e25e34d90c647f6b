// Jobs whose outputs other jobs take as inputs, through the real API and hub: a
// creator's job run by a provider of the test's own, with real outputs in R2 and a
// signed result, or failed, or left running.
import { expect } from "vitest";
import { HUB_PROTOCOL_VERSION, type OfferMessage } from "../../protocol/hubMessages.ts";
import type { Job } from "../../protocol/job.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { runningJob } from "./assignedJob.ts";
import { call } from "./client.ts";
import { finishWithOutputs } from "./providerOutputs.ts";
import type { TestProvider } from "./providerSocket.ts";

export const getJob = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

/** The running job succeeds with these outputs, uploaded and signed as a real provider does. */
export async function succeed(run: { provider: TestProvider; offer: OfferMessage }, outputs: Record<string, string>): Promise<ManifestFile[]> {
  const bodies = Object.fromEntries(Object.entries(outputs).map(([path, text]) => [path, new TextEncoder().encode(text)]));
  return finishWithOutputs(run.provider, run.offer, bodies);
}

/** The running job fails with this error, as its provider reports it. */
export async function fail(run: { provider: TestProvider; offer: OfferMessage }, error: string): Promise<void> {
  run.provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: run.offer.job_id, outcome: "failed", exit_code: 3, error, manifest: null, amount_wei: "0", signature: null });
  expect(await run.provider.next("job.result.ack")).toMatchObject({ accepted: true });
}

/** A job that succeeded with these outputs (its provider closed). */
export async function succeededJob(key: string, outputs: Record<string, string>): Promise<{ job: Job; files: ManifestFile[] }> {
  const run = await runningJob(key);
  const files = await succeed(run, outputs);
  await run.provider.close();
  return { job: run.job, files };
}
