// Output downloads as download clients expect: revalidated with If-None-Match
// against an ETag that is the file's sha256, and resumed with a byte range, the
// way `curl -C -` asks (`Range: bytes=<bytes it has>-`).
import { describe, expect, it } from "vitest";
import type { ManifestFile } from "../../../protocol/manifest.ts";
import { assignedJob } from "../assignedJob.ts";
import { call } from "../client.ts";
import { finishWithOutputs, sha256Hex } from "../providerOutputs.ts";

const SIZE = 300_000;
/** Random bytes, so a range served from the wrong offset cannot pass (getRandomValues fills 64 KiB at most per call). */
const weights = new Uint8Array(SIZE);
for (let at = 0; at < SIZE; at += 65_536) crypto.getRandomValues(weights.subarray(at, at + 65_536));
/** What a response carried, as its sha256: compared with the bytes expected without a 300,000-element diff. */
const digestOf = async (response: Response) => sha256Hex(new Uint8Array(await response.arrayBuffer()));

/** A creator's job that a provider of its own ran and finished with these output files, uploaded and reported through the real API and hub. */
async function finishedJob(outputs: Record<string, Uint8Array>): Promise<{ key: string; jobId: string; files: ManifestFile[] }> {
  const { key, provider, offer } = await assignedJob();
  const files = await finishWithOutputs(provider, offer, outputs);
  await provider.close();
  return { key, jobId: offer.job_id, files };
}

describe("GET /v1/jobs/{id}/outputs/{path}", () => {
  it("serves the whole file with a strong ETag (its sha256) and says ranges are accepted", async () => {
    const { key, jobId, files } = await finishedJob({ "model/weights.bin": weights });
    const response = await call(`/v1/jobs/${jobId}/outputs/model/weights.bin`, { key });
    expect(response.status).toBe(200);
    expect(response.headers.get("etag")).toBe(`"${files[0]!.sha256}"`);
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("content-length")).toBe(String(SIZE));
    expect(await digestOf(response)).toBe(await sha256Hex(weights));
  });

  it("answers 304 to If-None-Match with its ETag, and the file to another", async () => {
    const { key, jobId, files } = await finishedJob({ "a.bin": weights });
    const etag = `"${files[0]!.sha256}"`;
    for (const held of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const response = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { "if-none-match": held } });
      expect(response.status, held).toBe(304);
      expect(response.headers.get("etag")).toBe(etag);
      expect(await response.text()).toBe("");
    }
    const changed = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { "if-none-match": `"${"0".repeat(64)}"` } });
    expect(changed.status).toBe(200);
    expect(await digestOf(changed)).toBe(await sha256Hex(weights));
  });

  it("resumes as curl -C - asks: 206 with the rest of the file from where the client stopped", async () => {
    const { key, jobId } = await finishedJob({ "model/weights.bin": weights });
    const have = 123_457;
    const response = await call(`/v1/jobs/${jobId}/outputs/model/weights.bin`, { key, headers: { range: `bytes=${have}-` } });
    expect(response.status).toBe(206);
    expect(response.headers.get("content-range")).toBe(`bytes ${have}-${SIZE - 1}/${SIZE}`);
    expect(response.headers.get("content-length")).toBe(String(SIZE - have));
    expect(await digestOf(response)).toBe(await sha256Hex(weights.slice(have)));
  });

  it("serves a closed range and a suffix range", async () => {
    const { key, jobId } = await finishedJob({ "a.bin": weights });
    const middle = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { range: "bytes=1000-1999" } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("content-range")).toBe(`bytes 1000-1999/${SIZE}`);
    expect(await digestOf(middle)).toBe(await sha256Hex(weights.slice(1000, 2000)));
    const tail = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { range: "bytes=-10" } });
    expect(tail.status).toBe(206);
    expect(tail.headers.get("content-range")).toBe(`bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`);
    expect(await digestOf(tail)).toBe(await sha256Hex(weights.slice(SIZE - 10)));
  });

  it("answers 416 with the file's length to a range that starts past its end", async () => {
    const { key, jobId } = await finishedJob({ "a.bin": weights });
    const response = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { range: `bytes=${SIZE}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get("content-range")).toBe(`bytes */${SIZE}`);
    expect(response.headers.get("content-type")).toBe("application/problem+json");
    expect(((await response.json()) as { detail: string }).detail).toMatch(`the file is ${SIZE} bytes`);
  });

  it("sends the whole file when If-Range names other bytes, or several ranges are asked", async () => {
    const { key, jobId } = await finishedJob({ "a.bin": weights });
    const stale = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { range: "bytes=10-", "if-range": `"${"0".repeat(64)}"` } });
    expect(stale.status).toBe(200);
    expect(await digestOf(stale)).toBe(await sha256Hex(weights));
    const several = await call(`/v1/jobs/${jobId}/outputs/a.bin`, { key, headers: { range: "bytes=0-1,5-9" } });
    expect(several.status).toBe(200);
    expect(await digestOf(several)).toBe(await sha256Hex(weights));
  });
});
