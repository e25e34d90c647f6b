// POST /v1/providers/jobs/{id}/outputs: many small outputs in one signed batch,
// through the real API, R2 and hub. A batch is stored whole or not at all, and
// every way a batch can be wrong is a 4xx saying what.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { MAX_OUTPUT_FILES } from "../../../protocol/limits.ts";
import { BATCH_FILE_MAX_BYTES, BATCH_MAX_BODY_BYTES, BATCH_MAX_CONTENT_BYTES, BATCH_MAX_FILES, encodeOutputBatch, outputBatchMessage, type BatchEntry } from "../../../protocol/outputBatch.ts";
import { outputObjectKey, signedHeaders } from "../../../protocol/uploads.ts";
import { assignedJob } from "../assignedJob.ts";
import { call, ORIGIN } from "../client.ts";
import { sha256Hex, signedResult } from "../providerOutputs.ts";
import type { TestProvider } from "../providerSocket.ts";

const encoder = new TextEncoder();

async function entry(path: string, text: string): Promise<BatchEntry & { bytes: Uint8Array }> {
  const bytes = encoder.encode(text);
  return { path, size: bytes.length, sha256: await sha256Hex(bytes), bytes };
}

/** Sends `body` as a batch of `jobId`'s, signed by `signer` (the provider unless a test says otherwise). */
async function postBatch(provider: TestProvider, jobId: string, body: Uint8Array, options: { signer?: TestProvider["account"]; signedSha256?: string } = {}): Promise<Response> {
  const sha256 = options.signedSha256 ?? (await sha256Hex(body));
  const timestamp = Date.now();
  const signature = await (options.signer ?? provider.account).signMessage({ message: outputBatchMessage({ jobId, sha256, size: body.length, timestamp }) });
  return SELF.fetch(`${ORIGIN}/v1/providers/jobs/${jobId}/outputs`, {
    method: "POST",
    headers: { "content-length": String(body.length), ...signedHeaders({ provider: provider.address, timestamp, signature, sha256 }) },
    body,
  });
}

async function refusal(response: Response): Promise<{ status: number; detail: string }> {
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  return { status: response.status, detail: ((await response.json()) as { detail: string }).detail };
}

const stored = (jobId: string, file: BatchEntry) => env.OUTPUTS.head(outputObjectKey(jobId, file.path, file.sha256));

describe("a batch of outputs", () => {
  it("stores every file, the hub accepts a result naming them, and each downloads as its own file", async () => {
    const { key, provider, offer } = await assignedJob();
    const files = [await entry("samples/0.txt", "first sample"), await entry("samples/1.txt", "second"), await entry("empty.log", "")];
    const response = await postBatch(provider, offer.job_id, encodeOutputBatch(files));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ stored: 3 });
    provider.send(await signedResult(provider, offer, files.map(({ path, size, sha256 }) => ({ path, size, sha256 }))));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    for (const file of files) {
      const download = await call(`/v1/jobs/${offer.job_id}/outputs/${file.path}`, { key });
      expect(download.status, file.path).toBe(200);
      expect(new Uint8Array(await download.arrayBuffer())).toEqual(file.bytes);
    }
    // The job is done: no more batches for it.
    expect(await refusal(await postBatch(provider, offer.job_id, encodeOutputBatch([await entry("late.txt", "late")])))).toMatchObject({ status: 409 });
    await provider.close();
  });

  it(`takes a job's most files (${MAX_OUTPUT_FILES}, each its own bytes) in batches, and the hub accepts the result naming them all`, async () => {
    const { key, provider, offer } = await assignedJob();
    const files = await Promise.all(Array.from({ length: MAX_OUTPUT_FILES }, (_, i) => entry(`shards/${i}.txt`, `sample ${i}`)));
    for (let at = 0; at < files.length; at += BATCH_MAX_FILES) {
      expect((await postBatch(provider, offer.job_id, encodeOutputBatch(files.slice(at, at + BATCH_MAX_FILES)))).status).toBe(201);
    }
    const started = Date.now();
    provider.send(await signedResult(provider, offer, files.map(({ path, size, sha256 }) => ({ path, size, sha256 }))));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    console.log(`result of ${MAX_OUTPUT_FILES} files checked and acked in ${Date.now() - started} ms`);
    const last = files.at(-1)!;
    expect(await (await call(`/v1/jobs/${offer.job_id}/outputs/${last.path}`, { key })).text()).toBe(`sample ${MAX_OUTPUT_FILES - 1}`);
    await provider.close();
  }, 120_000);

  it("fails a result of many files (checked from R2's listing) that names one not uploaded, or one at another size", async () => {
    const files = await Promise.all(Array.from({ length: 80 }, (_, i) => entry(`out/${i}.txt`, `output ${i}`)));
    const manifestOf = (entries: typeof files) => entries.map(({ path, size, sha256 }) => ({ path, size, sha256 }));
    const never = await entry("out/never.txt", "never sent");
    const cases: Array<[string, ReturnType<typeof manifestOf>, string]> = [
      ["one never uploaded", manifestOf([...files, never]), "output out/never.txt was not uploaded"],
      ["one at another size", manifestOf(files).map((file, i) => (i === 40 ? { ...file, size: file.size + 1 } : file)), `output out/40.txt is ${files[40]!.size} bytes, the manifest says ${files[40]!.size + 1}`],
    ];
    for (const [what, manifest, error] of cases) {
      const { key, provider, offer } = await assignedJob();
      expect((await postBatch(provider, offer.job_id, encodeOutputBatch(files))).status).toBe(201);
      provider.send(await signedResult(provider, offer, manifest));
      await provider.next("job.result.ack");
      const job = (await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as { status: string; error: string };
      expect({ status: job.status, error: job.error }, what).toEqual({ status: "failed", error: `the provider's result was refused: ${error}` });
      await provider.close();
    }
  });

  it("checks a result whose files a provider's own extra uploads push past the listed pages, one by one, and accepts it", async () => {
    // Empty files' keys (their sha256 is e3b0…) sort before a real file whose sha256 is higher: with 2,100 of
    // them, such files lie past the two pages of 1,000 keys the hub lists for 50 files, and need a head each.
    const emptySha = await sha256Hex(new Uint8Array());
    const candidates = await Promise.all(Array.from({ length: 400 }, (_, i) => entry(`real/${i}.txt`, `result ${i}`)));
    const high = candidates.filter((file) => file.sha256 > emptySha).slice(0, 5);
    const real = [...candidates.filter((file) => file.sha256 < emptySha).slice(0, 45), ...high];
    expect(high).toHaveLength(5);
    const { provider, offer } = await assignedJob();
    const junk = await Promise.all(Array.from({ length: 2_100 }, (_, i) => entry(`junk/${i}`, "")));
    for (const files of [real, ...Array.from({ length: Math.ceil(junk.length / BATCH_MAX_FILES) }, (_, i) => junk.slice(i * BATCH_MAX_FILES, (i + 1) * BATCH_MAX_FILES))]) {
      expect((await postBatch(provider, offer.job_id, encodeOutputBatch(files))).status).toBe(201);
    }
    provider.send(await signedResult(provider, offer, real.map(({ path, size, sha256 }) => ({ path, size, sha256 }))));
    expect(await provider.next("job.result.ack")).toMatchObject({ accepted: true });
    await provider.close();
  }, 120_000);

  it("stores nothing of a batch with one file whose bytes are not what its listing says, and names that file", async () => {
    const { provider, offer } = await assignedJob();
    const honest = [await entry("a.txt", "aaa"), await entry("c.txt", "ccc")];
    const lying = { ...(await entry("b.txt", "bbb")), sha256: await sha256Hex(encoder.encode("not bbb")) };
    const answer = await refusal(await postBatch(provider, offer.job_id, encodeOutputBatch([honest[0]!, lying, honest[1]!])));
    expect(answer).toEqual({ status: 400, detail: "b.txt: its bytes do not have the sha256 the batch's listing gives" });
    for (const file of honest) expect(await stored(offer.job_id, file), file.path).toBeNull();
    // The same provider's next, honest batch is taken.
    expect((await postBatch(provider, offer.job_id, encodeOutputBatch(honest))).status).toBe(201);
    await provider.close();
  });

  it("refuses listings that are malformed, inconsistent with the body, or past the limits, saying what is wrong", async () => {
    const { provider, offer } = await assignedJob();
    const file = await entry("ok.txt", "fine");
    const good = encodeOutputBatch([file]);
    const withListing = (listing: string, content = file.bytes) => {
      const text = encoder.encode(listing);
      const body = new Uint8Array(4 + text.length + content.length);
      new DataView(body.buffer).setUint32(0, text.length);
      body.set(text, 4);
      body.set(content, 4 + text.length);
      return body;
    };
    const entryJson = (path: string) => JSON.stringify({ path, size: file.size, sha256: file.sha256 });
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ["too short", new Uint8Array([0, 0]), /shorter than its 4-byte listing length/],
      ["listing past the body", good.subarray(0, 10), /ends inside its listing/],
      ["not JSON", withListing("{nope"), /listing is not JSON/],
      ["path escaping", withListing(`[${entryJson("../etc/passwd")}]`), /listing at 0\.path must not contain/],
      ["same path twice", withListing(`[${entryJson("ok.txt")},${entryJson("ok.txt")}]`, new Uint8Array([...file.bytes, ...file.bytes])), /names a path twice/],
      ["an extra field", withListing(`[${JSON.stringify({ ...JSON.parse(entryJson("ok.txt")), mode: 777 })}]`), /listing at 0/],
      ["bytes past the listing", new Uint8Array([...good, 1, 2, 3]), /names 4 bytes of files, and the body carries 7/],
      ["too many files", withListing(JSON.stringify(Array.from({ length: BATCH_MAX_FILES + 1 }, (_, i) => ({ path: `f${i}`, size: 0, sha256: file.sha256 }))), new Uint8Array()), /listing .*256/],
    ];
    for (const [what, body, detail] of cases) {
      const answer = await refusal(await postBatch(provider, offer.job_id, body));
      expect(answer.status, what).toBe(400);
      expect(answer.detail, what).toMatch(detail);
    }
    expect(await stored(offer.job_id, file)).toBeNull();
    await provider.close();
  });

  it("takes a batch at exactly its limits (files at the largest a batch holds, filling its bytes), and refuses one byte more", async () => {
    const { provider, offer } = await assignedJob();
    const count = BATCH_MAX_CONTENT_BYTES / BATCH_FILE_MAX_BYTES;
    const full = await Promise.all(Array.from({ length: count }, (_, i) => entry(`w/${i}.bin`, String.fromCharCode(97 + i).repeat(BATCH_FILE_MAX_BYTES))));
    expect((await postBatch(provider, offer.job_id, encodeOutputBatch(full))).status).toBe(201);
    for (const file of full) expect((await stored(offer.job_id, file))?.size, file.path).toBe(BATCH_FILE_MAX_BYTES);
    const overFile = await entry("over.bin", "x".repeat(BATCH_FILE_MAX_BYTES + 1));
    expect(await refusal(await postBatch(provider, offer.job_id, encodeOutputBatch([overFile])))).toMatchObject({ status: 400, detail: expect.stringMatching(/listing at 0\.size/) });
    const overBatch = [...full, await entry("one-more.bin", "y")];
    expect(await refusal(await postBatch(provider, offer.job_id, encodeOutputBatch(overBatch)))).toMatchObject({ status: 400, detail: expect.stringContaining(`more than ${BATCH_MAX_CONTENT_BYTES} bytes`) });
    expect(await stored(offer.job_id, overBatch.at(-1)!)).toBeNull();
    await provider.close();
  });

  it("is the assigned provider's only, its body exactly what was signed, and within the size a batch may have", async () => {
    const { provider, offer } = await assignedJob();
    const body = encodeOutputBatch([await entry("x.txt", "the real bytes")]);
    const stranger = privateKeyToAccount(generatePrivateKey());
    expect(await refusal(await postBatch(provider, offer.job_id, body, { signer: stranger }))).toEqual({ status: 401, detail: "the upload signature is not the provider's" });
    // Signed over one body, sent with another.
    const signedFor = await sha256Hex(encodeOutputBatch([await entry("x.txt", "other bytes!!!")]));
    expect(await refusal(await postBatch(provider, offer.job_id, body, { signedSha256: signedFor }))).toMatchObject({ status: 400, detail: expect.stringContaining("do not have the sha256") });
    const other = await assignedJob();
    expect(await refusal(await postBatch(other.provider, offer.job_id, body))).toMatchObject({ status: 403 });
    const tooLarge = await SELF.fetch(`${ORIGIN}/v1/providers/jobs/${offer.job_id}/outputs`, {
      method: "POST",
      headers: { "content-length": String(BATCH_MAX_BODY_BYTES + 1), ...signedHeaders({ provider: provider.address, timestamp: Date.now(), signature: "0x00", sha256: "0".repeat(64) }) },
      body: new Uint8Array(BATCH_MAX_BODY_BYTES + 1),
    });
    expect((await refusal(tooLarge)).status).toBe(413);
    await provider.close();
    await other.provider.close();
  });
});
