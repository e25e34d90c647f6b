// The R2 relay of a job's input files, in workerd with its real R2 binding:
// the creator's uploads (the manifest checked against the spec, each chunk's
// sha256 checked as it is stored), and reads signed by the job's provider.
import { afterEach, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Job } from "../../../protocol/job.ts";
import { TRANSFER_PROTOCOL_VERSION, type TransferManifest } from "../../../protocol/transfer.ts";
import { relayReadMessage, uploadHeaders, type RelayObject } from "../../../protocol/uploads.ts";
import { EXPENSIVE, uniqueCpus } from "../assignedJob.ts";
import { call, post, signIn } from "../client.ts";
import { connectProvider, type TestProvider } from "../providerSocket.ts";

async function sha256(bytes: Uint8Array): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const content = new TextEncoder().encode("the creator's input\n");
/** Closed after each test: a socket left open is closed at the file's teardown, whose hub handler then cannot load. */
const providers: TestProvider[] = [];
afterEach(async () => {
  for (const provider of providers.splice(0)) await provider.close();
});

/** A creator's job with one input file, taken by a provider of its own. */
async function jobWithInput() {
  const { key } = await signIn();
  const digest = await sha256(content);
  const cpus = uniqueCpus();
  const provider = await connectProvider({ resources: { cpus }, pricing: EXPENSIVE });
  providers.push(provider);
  const spec = { image: "ghcr.io/pond/example:1.0", resources: { gpus: 0, cpus, memory_mb: 512 }, timeout_s: 60, max_price_wei: "1000000000000000000000", input_files: [{ path: "in/a.txt", size: content.length, sha256: digest }] };
  const response = await post("/v1/jobs", spec, { key });
  expect(response.status).toBe(201);
  const job = (await response.json()) as Job;
  await provider.accept(await provider.next("job.offer"));
  const manifest: TransferManifest = { v: TRANSFER_PROTOCOL_VERSION, files: [{ path: "in/a.txt", size: content.length, sha256: digest, chunk_size: 1024 * 1024, chunks: [digest] }] };
  return { key, job, provider, manifest, digest };
}

const put = (path: string, body: BodyInit, key: string, type = "application/json") => call(path, { method: "PUT", body, key, headers: { "content-type": type } });

async function signedGet(account: PrivateKeyAccount, jobId: string, object: RelayObject, timestamp = Date.now()): Promise<Response> {
  const signature = await account.signMessage({ message: relayReadMessage({ jobId, object, timestamp }) });
  return call(`/v1/providers/jobs/${jobId}/data/${object}`, { headers: { [uploadHeaders.provider]: account.address, [uploadHeaders.timestamp]: String(timestamp), [uploadHeaders.signature]: signature } });
}

describe("the creator's uploads", () => {
  it("takes a manifest naming exactly the spec's input_files, and refuses another", async () => {
    const { key, job, manifest } = await jobWithInput();
    const other = { ...manifest, files: [{ ...manifest.files[0]!, path: "in/b.txt" }] };
    const refused = await put(`/v1/jobs/${job.id}/data/inputs`, JSON.stringify(other), key);
    expect(refused.status).toBe(422);
    expect(await refused.text()).toMatch(/in\/b\.txt/);
    expect((await put(`/v1/jobs/${job.id}/data/inputs`, JSON.stringify(manifest), key)).status).toBe(204);
  });

  it("stores a chunk only after the manifest, only one it lists, and only when its bytes have its sha256", async () => {
    const { key, job, manifest, digest } = await jobWithInput();
    expect((await put(`/v1/jobs/${job.id}/data/chunks/${digest}`, content, key, "application/octet-stream")).status).toBe(409);
    await put(`/v1/jobs/${job.id}/data/inputs`, JSON.stringify(manifest), key);
    expect((await put(`/v1/jobs/${job.id}/data/chunks/${"0".repeat(64)}`, content, key, "application/octet-stream")).status).toBe(404);
    let missing = await post(`/v1/jobs/${job.id}/data/chunks/missing`, { sha256s: [digest] }, { key });
    expect(await missing.json()).toEqual({ missing: [digest] });
    const tampered = await put(`/v1/jobs/${job.id}/data/chunks/${digest}`, new TextEncoder().encode("other bytes"), key, "application/octet-stream");
    expect(tampered.status).toBe(400);
    expect((await put(`/v1/jobs/${job.id}/data/chunks/${digest}`, content, key, "application/octet-stream")).status).toBe(204);
    missing = await post(`/v1/jobs/${job.id}/data/chunks/missing`, { sha256s: [digest] }, { key });
    expect(await missing.json()).toEqual({ missing: [] });
  });

  it("is the job's creator's alone", async () => {
    const { job, manifest } = await jobWithInput();
    const stranger = await signIn();
    expect((await put(`/v1/jobs/${job.id}/data/inputs`, JSON.stringify(manifest), stranger.key)).status).toBe(404);
  });
});

describe("the provider's reads", () => {
  it("serve the job's provider the manifest and the chunk, signed; not someone else, nor an old signature", async () => {
    const { key, job, provider, manifest, digest } = await jobWithInput();
    expect((await signedGet(provider.account, job.id, "inputs")).status).toBe(404);
    await put(`/v1/jobs/${job.id}/data/inputs`, JSON.stringify(manifest), key);
    await put(`/v1/jobs/${job.id}/data/chunks/${digest}`, content, key, "application/octet-stream");
    const read = await signedGet(provider.account, job.id, "inputs");
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(manifest);
    const chunk = await signedGet(provider.account, job.id, `chunks/${digest}`);
    expect(new Uint8Array(await chunk.arrayBuffer())).toEqual(content);
    expect((await signedGet(privateKeyToAccount(generatePrivateKey()), job.id, "inputs")).status).toBe(403);
    expect((await signedGet(provider.account, job.id, "inputs", Date.now() - 10 * 60_000)).status).toBe(401);
    expect((await call(`/v1/providers/jobs/${job.id}/data/inputs`)).status).toBe(401);
  });
});

describe("whether a job's inputs are still needed", () => {
  it("tells its provider yes while the job can still be challenged, no once it has ended and its settlement is final; nobody else", async () => {
    const { key, job, provider } = await jobWithInput();
    const needed = async () => {
      const response = await signedGet(provider.account, job.id, "inputs-needed");
      expect(response.status).toBe(200);
      return ((await response.json()) as { needed: boolean }).needed;
    };
    expect(await needed()).toBe(true);
    expect((await signedGet(privateKeyToAccount(generatePrivateKey()), job.id, "inputs-needed")).status).toBe(403);
    expect((await call(`/v1/providers/jobs/${job.id}/data/inputs-needed`)).status).toBe(401);
    // A job that does not settle on chain is final once it ends: no mediator can ever be drawn for it.
    expect((await call(`/v1/jobs/${job.id}/cancel`, { method: "POST", key })).status).toBe(200);
    expect(await needed()).toBe(false);
  });
});

describe("an outputs download report", () => {
  it("is refused for a job without outputs", async () => {
    const { key, job } = await jobWithInput();
    expect((await post(`/v1/jobs/${job.id}/data/outputs-download`, { bytes: 1, ms: 1 }, { key })).status).toBe(409);
  });
});
