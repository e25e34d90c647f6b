// What a provider of the test's own sends when a job ends, as the real daemon
// does: each output uploaded with its signed upload headers, then the manifest
// over them in a signed result.
import { SELF } from "cloudflare:test";
import type { Hex } from "viem";
import { expect } from "vitest";
import { jobResultTypes } from "../../protocol/eip712.ts";
import { HUB_PROTOCOL_VERSION, type OfferMessage, type ResultMessage } from "../../protocol/hubMessages.ts";
import { buildManifest, type ManifestFile } from "../../protocol/manifest.ts";
import { signedHeaders, uploadMessage } from "../../protocol/uploads.ts";
import { ORIGIN } from "./client.ts";
import type { TestProvider } from "./providerSocket.ts";

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Uploads one output of the job; expects it taken. */
export async function uploadOutput(provider: TestProvider, jobId: string, path: string, body: Uint8Array): Promise<ManifestFile> {
  const sha256 = await sha256Hex(body);
  const timestamp = Date.now();
  const signature = await provider.account.signMessage({ message: uploadMessage({ jobId, path, sha256, size: body.length, timestamp }) });
  const response = await SELF.fetch(`${ORIGIN}/v1/providers/jobs/${jobId}/outputs/${path}`, {
    method: "PUT",
    headers: { "content-length": String(body.length), ...signedHeaders({ provider: provider.address, timestamp, signature, sha256 }) },
    body,
  });
  expect(response.status).toBe(201);
  return { path, size: body.length, sha256 };
}

/** A succeeded result over these files, signed by the provider. */
export async function signedResult(provider: TestProvider, offer: OfferMessage, files: ManifestFile[]): Promise<ResultMessage & { signature: Hex }> {
  const manifest = await buildManifest(files);
  const signature = await provider.account.signTypedData({
    domain: provider.domain,
    types: jobResultTypes,
    primaryType: "JobResult",
    message: { jobId: offer.chain_job_id as Hex, resultHash: manifest.result_hash as Hex, amount: 0n },
  });
  return { v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: offer.job_id, outcome: "succeeded", exit_code: 0, error: null, manifest, amount_wei: "0", signature };
}

/** Uploads the outputs, sends the signed result, and expects it accepted. */
export async function finishWithOutputs(provider: TestProvider, offer: OfferMessage, outputs: Record<string, Uint8Array>): Promise<ManifestFile[]> {
  const files: ManifestFile[] = [];
  for (const [path, body] of Object.entries(outputs)) files.push(await uploadOutput(provider, offer.job_id, path, body));
  provider.send(await signedResult(provider, offer, files));
  expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
  return files;
}

/** A succeeded result over these files, signed, carrying their bytes inline instead of uploading them. */
export async function inlineResult(provider: TestProvider, offer: OfferMessage, outputs: Record<string, Uint8Array>): Promise<ResultMessage & { signature: Hex }> {
  const files = await Promise.all(Object.entries(outputs).map(async ([path, bytes]) => ({ path, size: bytes.length, sha256: await sha256Hex(bytes) })));
  const inline_outputs = Object.entries(outputs).map(([path, bytes]) => ({ path, data_base64: btoa(String.fromCharCode(...bytes)) }));
  return { ...(await signedResult(provider, offer, files)), inline_outputs };
}
