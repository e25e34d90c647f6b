// A succeeded job's result: its outputs uploaded to a real HTTP server standing in for the API's upload routes.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OfferMessage } from "../../protocol/hubMessages.ts";
import { pondDomain } from "../../protocol/eip712.ts";
import { INLINE_OUTPUTS_MAX_BYTES, INLINE_OUTPUTS_MAX_FILES } from "../../protocol/inlineOutputs.ts";
import { decodeOutputBatch } from "../../protocol/outputBatch.ts";
import { buildResult } from "../../provider/results.ts";

let dir: string;
let server: Server;
let held: Array<{ request: IncomingMessage; response: ServerResponse }>;
let received: number;
/** The paths each batch (POST) carried. */
let batches: string[][];
/** The most uploads open at once, from their first byte to their answer. */
let mostAtOnce: number;

/** Files in the job's outputs, and how many uploads the server waits to have open before it answers any. */
let files: number;
let awaited: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-results-"));
  held = [];
  received = 0;
  batches = [];
  mostAtOnce = 0;
  // Answers nothing until `awaited` uploads are open (or all that are left): fewer at once would wait for ever.
  let open = 0;
  server = createServer((request, response) => {
    mostAtOnce = Math.max(mostAtOnce, ++open);
    response.on("finish", () => open--);
    const body: Buffer[] = [];
    request.on("data", (chunk: Buffer) => body.push(chunk));
    request.on("end", () => {
      if (request.method === "POST") {
        const batch = decodeOutputBatch(Buffer.concat(body));
        batches.push(batch.ok ? batch.files.map((file) => file.path) : [`not a batch: ${batch.reason}`]);
      }
      held.push({ request, response });
      received += 1;
      if (held.length === Math.min(awaited, files - (received - held.length))) for (const done of held.splice(0)) done.response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const offer: OfferMessage = {
  v: 1,
  type: "job.offer",
  job_id: "job_1",
  chain_job_id: `0x${"ab".repeat(32)}`,
  spec: { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 60, max_price_wei: "100" },
  gpu_uuids: [],
  rate_wei_per_second: "1",
  max_amount_wei: "60",
  expires_at: Date.now() + 60_000,
};

const build = (inlineOutputs = true) =>
  buildResult(
    { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, account: privateKeyToAccount(generatePrivateKey()), domain: pondDomain(31337, zeroAddress), maxOutputBytes: 100_000_000, inlineOutputs },
    offer,
    { outcome: "succeeded", exitCode: 0, error: null, pullMs: 0, runMs: 1000, outputsDir: dir },
  );

describe("buildResult", () => {
  it("uploads small outputs in batches, a few at once", async () => {
    files = 600;
    awaited = 3;
    for (let i = 0; i < files; i++) await writeFile(join(dir, `f${i}.txt`), `file ${i}\n`);
    const result = await build();
    expect(result).toMatchObject({ outcome: "succeeded", error: null });
    expect(result.manifest!.files).toHaveLength(files);
    // 64 go inline with the result; the other 536, at most 256 a batch: three requests, every file in one place once.
    expect(result.inline_outputs).toHaveLength(INLINE_OUTPUTS_MAX_FILES);
    expect(received).toBe(3);
    expect(batches.map((batch) => batch.length).sort()).toEqual([256, 256, 24].sort());
    expect([...batches.flat(), ...result.inline_outputs!.map((o) => o.path)].sort()).toEqual(result.manifest!.files.map((file) => file.path).sort());
    expect(mostAtOnce).toBe(3);
  });

  it("carries the outputs that fit inline in the result, with their bytes, and uploads only the rest", async () => {
    files = 1;
    awaited = 1;
    await writeFile(join(dir, "metrics.json"), '{"accuracy":0.975}');
    await writeFile(join(dir, "model.pt"), Buffer.alloc(INLINE_OUTPUTS_MAX_BYTES, 3));
    await writeFile(join(dir, "empty.txt"), "");
    const result = await build();
    expect(result).toMatchObject({ outcome: "succeeded", error: null });
    // The two smallest fit together; the model would pass the bound beside them and goes up on its own.
    expect(result.inline_outputs).toEqual([
      { path: "empty.txt", data_base64: "" },
      { path: "metrics.json", data_base64: Buffer.from('{"accuracy":0.975}').toString("base64") },
    ]);
    expect(received).toBe(1);
    expect(batches).toEqual([["model.pt"]]);
  });

  it("uploads every output, carrying none inline, for a hub whose welcome did not say it takes them", async () => {
    files = 1;
    awaited = 1;
    await writeFile(join(dir, "metrics.json"), '{"accuracy":0.975}');
    const result = await build(false);
    expect(result).toMatchObject({ outcome: "succeeded", error: null });
    expect(result).not.toHaveProperty("inline_outputs");
    expect(batches).toEqual([["metrics.json"]]);
  });

  it("uploads outputs too big for a batch but under 1 MiB many at a time, at most sixteen at once", async () => {
    files = 40;
    awaited = 16;
    for (let i = 0; i < files; i++) await writeFile(join(dir, `f${i}.bin`), Buffer.alloc(300 * 1024, i));
    const result = await build();
    expect(result).toMatchObject({ outcome: "succeeded", error: null });
    expect(received).toBe(files);
    expect(batches).toEqual([]);
    expect(mostAtOnce).toBe(16);
  });

  it("uploads big outputs one at a time, each with the whole link", async () => {
    files = 3;
    awaited = 1;
    for (let i = 0; i < files; i++) await writeFile(join(dir, `big${i}.bin`), Buffer.alloc(1024 * 1024 + 1));
    const result = await build();
    expect(result).toMatchObject({ outcome: "succeeded", error: null });
    expect(received).toBe(files);
    expect(mostAtOnce).toBe(1);
  });
});
