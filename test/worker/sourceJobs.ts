// Jobs whose outputs other jobs take as inputs, through the real API and hub: a
// creator's job run by a provider of the test's own, with real outputs in R2 and a
// signed result, or failed, or left running.
import { SELF } from "cloudflare:test";
import type { Hex } from "viem";
import { expect } from "vitest";
import { jobResultTypes } from "../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type OfferMessage } from "../../protocol/hubMessages.ts";
import type { Job } from "../../protocol/job.ts";
import { buildManifest, type ManifestFile } from "../../protocol/manifest.ts";
import { uploadHeaders, uploadMessage } from "../../protocol/uploads.ts";
import { EXPENSIVE, specFor, uniqueCpus } from "./assignedJob.ts";
import { call, ORIGIN, post } from "./client.ts";
import { connectProvider, type TestProvider } from "./providerSocket.ts";

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const getJob = async (key: string, id: string) => (await (await call(`/v1/jobs/${id}`, { key })).json()) as Job;

/** A provider of its own, sized so only this test's jobs (specFor(cpus)) fit it. */
export async function ownProvider(): Promise<{ provider: TestProvider; cpus: number }> {
  const cpus = uniqueCpus();
  return { provider: await connectProvider({ resources: { cpus }, pricing: EXPENSIVE }), cpus };
}

/** A job of `key`'s, taken by a provider of its own: running, to be ended by the test. */
export async function runningJob(key: string): Promise<{ provider: TestProvider; offer: OfferMessage; job: Job }> {
  const { provider, cpus } = await ownProvider();
  const response = await post("/v1/jobs", specFor(cpus), { key });
  expect(response.status).toBe(201);
  const job = (await response.json()) as Job;
  const offer = await provider.next("job.offer");
  expect(offer.job_id).toBe(job.id);
  await provider.accept(offer);
  return { provider, offer, job };
}

async function upload(provider: TestProvider, jobId: string, path: string, body: Uint8Array): Promise<ManifestFile> {
  const sha256 = await sha256Hex(body);
  const timestamp = Date.now();
  const signature = await provider.account.signMessage({ message: uploadMessage({ jobId, path, sha256, size: body.length, timestamp }) });
  const response = await SELF.fetch(`${ORIGIN}/v1/providers/jobs/${jobId}/outputs/${path}`, {
    method: "PUT",
    headers: {
      "content-length": String(body.length),
      [uploadHeaders.provider]: provider.address,
      [uploadHeaders.timestamp]: String(timestamp),
      [uploadHeaders.signature]: signature,
      [uploadHeaders.sha256]: sha256,
    },
    body,
  });
  expect(response.status).toBe(201);
  return { path, size: body.length, sha256 };
}

/** The running job succeeds with these outputs, uploaded and signed as a real provider does. */
export async function succeed(run: { provider: TestProvider; offer: OfferMessage }, outputs: Record<string, string>): Promise<ManifestFile[]> {
  const { provider, offer } = run;
  const files: ManifestFile[] = [];
  for (const [path, text] of Object.entries(outputs)) files.push(await upload(provider, offer.job_id, path, new TextEncoder().encode(text)));
  const manifest = await buildManifest(files);
  const signature = await provider.account.signTypedData({
    domain: provider.domain,
    types: jobResultTypes,
    primaryType: "JobResult",
    message: { jobId: offer.chain_job_id as Hex, resultHash: manifest.result_hash as Hex, amount: 0n },
  });
  provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: offer.job_id, outcome: "succeeded", exit_code: 0, error: null, manifest, amount_wei: "0", signature });
  expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
  return files;
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
