// A job's inputs that are another job's outputs, fetched by the provider over HTTP as
// sourceFetch.ts does it against the API. The API here is a small Node server that
// speaks the one route (GET …/data/sources/{sha256}, with Range), since only a local
// server can cut a read half way on cue or send the wrong bytes; the route itself is
// tested in workerd (test/worker/api/jobInputSources.test.ts) and end to end
// (test/e2e/pipelines.test.ts).
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readdir, readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { verifyMessage } from "viem";
import { afterEach, describe, expect, it } from "vitest";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { relayReadMessage, sourceObject, uploadHeaders } from "../../../protocol/uploads.ts";
import { fetchFromSources, type SourceInputFile } from "../../../provider/dataplane/sourceFetch.ts";
import { InputsError } from "../../../provider/dataplane/relayFetch.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const dir = useTempDir("source-fetch");
const account = privateKeyToAccount(generatePrivateKey());
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const JOB = "job_dependent0000000000000000";

let server: Server | undefined;
afterEach(async () => {
  // Idle keep-alive connections would hold close() for the server's keep-alive timeout.
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
});

/** Serves `files` by sha256 to a correctly signed read; `misbehave` may answer instead (true: it did). */
async function api(files: Map<string, Uint8Array>, misbehave: (request: IncomingMessage, response: ServerResponse, bytes: Uint8Array) => boolean = () => false): Promise<{ url: string; ranges: string[] }> {
  const ranges: string[] = [];
  server = createServer(async (request, response) => {
    const match = /^\/v1\/providers\/jobs\/([^/]+)\/data\/sources\/([0-9a-f]{64})$/.exec(request.url ?? "");
    const signed = match && (await verifyMessage({ address: account.address, message: relayReadMessage({ jobId: match[1]!, object: sourceObject(match[2]!), timestamp: Number(request.headers[uploadHeaders.timestamp]) }), signature: request.headers[uploadHeaders.signature] as `0x${string}` }));
    const bytes = match ? files.get(match[2]!) : undefined;
    if (!signed || !bytes) return void response.writeHead(signed ? 404 : 401).end();
    ranges.push(request.headers.range ?? "whole");
    if (misbehave(request, response, bytes)) return;
    const from = Number(/^bytes=(\d+)-$/.exec(request.headers.range ?? "")?.[1] ?? 0);
    response.writeHead(from > 0 ? 206 : 200, { "content-length": String(bytes.length - from) }).end(bytes.subarray(from));
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, ranges };
}

const entry = (path: string, bytes: Uint8Array): SourceInputFile => ({ path, size: bytes.length, sha256: sha256(bytes), from: { job: "job_source000000000000000000", output: path } });

describe("fetching inputs from a source job's outputs", () => {
  it("writes each file under its path, checked, with the chunks a transfer manifest would list", async () => {
    const model = randomBytes(2_500_000);
    const empty = new Uint8Array(0);
    const { url } = await api(new Map([[sha256(model), model], [sha256(empty), empty]]));
    const inputs = join(dir(), "job", "inputs");
    const fetched = await fetchFromSources({ api: url, account, jobId: JOB, files: [entry("weights/model.pt", model), entry("empty.txt", empty)], inputsDir: inputs });
    expect(fetched.bytes).toBe(model.length);
    expect(sha256(await readFile(join(inputs, "weights/model.pt")))).toBe(sha256(model));
    expect(fetched.files).toEqual((await buildTransferManifest(inputs, ["weights/model.pt", "empty.txt"])).files);
    // Nothing half-written is left where the container looks.
    expect((await readdir(inputs)).sort()).toEqual(["empty.txt", "weights"]);
  });

  it("resumes a read cut half way from the byte it stopped at", async () => {
    const model = randomBytes(3_000_000);
    let cut = false;
    const { url, ranges } = await api(new Map([[sha256(model), model]]), (_request, response, bytes) => {
      if (cut) return false;
      cut = true;
      response.writeHead(200, { "content-length": String(bytes.length) });
      response.write(bytes.subarray(0, 1_000_000), () => response.destroy());
      return true;
    });
    const inputs = join(dir(), "job", "inputs");
    const fetched = await fetchFromSources({ api: url, account, jobId: JOB, files: [entry("model.pt", model)], inputsDir: inputs });
    expect(sha256(await readFile(join(inputs, "model.pt")))).toBe(sha256(model));
    expect(ranges[0]).toBe("whole");
    expect(ranges[1]).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(ranges[1]!)![0])).toBeGreaterThan(0);
    expect(fetched.bytes).toBe(model.length);
  });

  it("refuses bytes that are not the manifest's, naming the file and its source, and keeps none of them", async () => {
    const model = randomBytes(100_000);
    const { url } = await api(new Map([[sha256(model), model]]), (_request, response, bytes) => {
      const forged = Uint8Array.from(bytes);
      forged[50_000] = (forged[50_000]! + 1) % 256;
      response.writeHead(200, { "content-length": String(forged.length) }).end(forged);
      return true;
    });
    const inputs = join(dir(), "job", "inputs");
    const fetching = fetchFromSources({ api: url, account, jobId: JOB, files: [entry("model.pt", model)], inputsDir: inputs });
    await expect(fetching).rejects.toThrow(InputsError);
    await expect(fetching).rejects.toThrow(/input file "model.pt" from job_source0+'s outputs is 100000 bytes with sha256 [0-9a-f]{64}, not the 100000 bytes and [0-9a-f]{64} of that job's manifest/);
    expect(await readdir(inputs).catch(() => [])).toEqual([]);
  });

  it("stops at once when the API refuses the read", async () => {
    const model = randomBytes(1000);
    const { url, ranges } = await api(new Map([[sha256(model), model]]), (_request, response) => {
      response.writeHead(403, { "content-type": "application/problem+json" }).end(JSON.stringify({ detail: "only the job's provider, or a mediator drawn for it, may read its inputs" }));
      return true;
    });
    const fetching = fetchFromSources({ api: url, account, jobId: JOB, files: [entry("model.pt", model)], inputsDir: join(dir(), "job", "inputs") });
    await expect(fetching).rejects.toThrow(/reading "model.pt" from job_source0+'s outputs failed: HTTP 403 .*only the job's provider/);
    expect(ranges).toHaveLength(1);
  });

  it("checks a file already in place (the input cache put it there) and fetches none of its bytes", async () => {
    const model = randomBytes(200_000);
    const { url, ranges } = await api(new Map([[sha256(model), model]]));
    const inputs = join(dir(), "job", "inputs");
    await fetchFromSources({ api: url, account, jobId: JOB, files: [entry("model.pt", model)], inputsDir: inputs });
    const again = await fetchFromSources({ api: url, account, jobId: JOB, files: [entry("model.pt", model)], inputsDir: inputs });
    expect(again.bytes).toBe(0);
    expect(ranges).toHaveLength(1);
  });
});
