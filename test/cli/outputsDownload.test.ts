// Outputs fetched from the API into a folder (what `--output` falls back to, and
// `pond jobs download`), against a real HTTP server standing in for the API's
// output route: a big file streams to disk as it comes, small ones come several
// at once, and a file whose bytes are not the manifest's is never kept.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OutputIntegrityError } from "../../cli/errors.ts";
import { downloadOutputs } from "../../cli/outputs.ts";
import type { Job } from "../../protocol/job.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { PondClient } from "../../sdk/index.ts";
import { eventually } from "../helpers/eventually.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const dir = useTempDir("outputs-download");
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const fileOf = (path: string, bytes: Buffer): ManifestFile => ({ path, size: bytes.length, sha256: sha256(bytes) });
const jobWith = (files: ManifestFile[]) => ({ id: "job_x", status: "succeeded", output: { files } }) as unknown as Job;

/** Serves `bodies` at the output route; `handler` may take over a path. Counts the downloads open at once. */
async function api(bodies: Map<string, Buffer>, handler?: (path: string, response: import("node:http").ServerResponse) => boolean) {
  const state = { open: 0, mostAtOnce: 0 };
  server = createServer((request, response) => {
    const path = decodeURIComponent(request.url!.replace("/v1/jobs/job_x/outputs/", ""));
    state.mostAtOnce = Math.max(state.mostAtOnce, ++state.open);
    response.on("close", () => state.open--);
    if (handler?.(path, response)) return;
    const body = bodies.get(path);
    if (!body) return void response.writeHead(404).end();
    // A moment per file, so downloads that could overlap do.
    setTimeout(() => response.writeHead(200, { "content-length": String(body.length) }).end(body), 20);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { client: new PondClient({ baseUrl: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, apiKey: "pond_test" }), state };
}

describe("downloadOutputs", () => {
  it("streams a big file to disk as it arrives, checked whole before it takes its name", async () => {
    const big = Buffer.alloc(24 * 1024 * 1024);
    for (let at = 0; at < big.length; at += 4096) big.writeUInt32BE(at, at);
    const file = fileOf("model/checkpoint.pt", big);
    let release: () => void = () => undefined;
    const halfway = new Promise<void>((resolve) => (release = resolve));
    const { client } = await api(new Map(), (_path, response) => {
      // Half the file, then a pause until the test has looked at the disk.
      response.writeHead(200, { "content-length": String(big.length) });
      response.write(big.subarray(0, big.length / 2));
      void halfway.then(() => response.end(big.subarray(big.length / 2)));
      return true;
    });
    const target = join(dir(), "model", "checkpoint.pt");
    const download = downloadOutputs(client, jobWith([file]), dir());
    // Before the answer is whole, its first half is on disk under .partial, and nothing under the file's name.
    await eventually(async () => ((await stat(`${target}.partial`).catch(() => undefined))?.size ?? 0) >= big.length / 2, { what: "half the file on disk" });
    expect(existsSync(target)).toBe(false);
    release();
    await download;
    expect(sha256(await readFile(target))).toBe(file.sha256);
    expect(existsSync(`${target}.partial`)).toBe(false);
  });

  it("fetches many small files several at once, and keeps a copy already there without fetching it", async () => {
    const bodies = new Map(Array.from({ length: 40 }, (_, i) => [`samples/${i}.txt`, Buffer.from(`sample ${i}\n`)] as const));
    const files = [...bodies].map(([path, bytes]) => fileOf(path, bytes));
    const { client, state } = await api(bodies);
    await downloadOutputs(client, jobWith(files), dir());
    expect(state.mostAtOnce).toBeGreaterThan(1);
    expect(state.mostAtOnce).toBeLessThanOrEqual(8);
    for (const [path, bytes] of bodies) expect(await readFile(join(dir(), path))).toEqual(bytes);
    // Again: every file is already here, checked, and none is asked for.
    bodies.clear();
    await downloadOutputs(client, jobWith(files), dir());
  });

  it("keeps nothing of a file whose bytes are not the manifest's, and says which", async () => {
    const honest = Buffer.from("the real weights");
    const file = fileOf("weights.bin", honest);
    const { client } = await api(new Map([["weights.bin", Buffer.from("other weights!!!")]]));
    const failure = await downloadOutputs(client, jobWith([file]), dir()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OutputIntegrityError);
    expect((failure as Error).message).toMatch(/^weights\.bin arrived with 16 bytes and sha256 [0-9a-f]{64}; the manifest says 16 bytes/);
    expect(existsSync(join(dir(), "weights.bin"))).toBe(false);
    expect(existsSync(join(dir(), "weights.bin.partial"))).toBe(false);
  });

  it("stops reading a file that goes on past the manifest's size, instead of filling the disk", async () => {
    const file = fileOf("small.txt", Buffer.from("sixteen bytes!!!"));
    let sent = 0;
    const { client } = await api(new Map(), (_path, response) => {
      // Endless, chunked: no length to stop at.
      response.writeHead(200);
      const more = () => {
        while (!response.destroyed && sent < 512 * 1024 * 1024) {
          sent += 64 * 1024;
          if (!response.write(Buffer.alloc(64 * 1024, 0x61))) return void response.once("drain", more);
        }
        response.end();
      };
      more();
      return true;
    });
    const failure = await downloadOutputs(client, jobWith([file]), dir()).catch((error: unknown) => error);
    expect((failure as Error).message).toBe("small.txt arrived with more than the 16 bytes the manifest says: nothing was written for it");
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(existsSync(join(dir(), "small.txt.partial"))).toBe(false);
  });
});
