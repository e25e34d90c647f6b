// A succeeded job's result: its outputs uploaded to a real HTTP server standing in for the API's upload route.
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
import { buildResult } from "../../provider/results.ts";

const FILES = 40;
let dir: string;
let server: Server;
let held: Array<{ request: IncomingMessage; response: ServerResponse }>;
let received: number;
let mostAtOnce: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-results-"));
  for (let i = 0; i < FILES; i++) await writeFile(join(dir, `f${i}.txt`), `file ${i}\n`);
  held = [];
  received = 0;
  mostAtOnce = 0;
  // Answers nothing until as many uploads are open as could be (8, or all that are left): one at a time would wait for ever.
  server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      held.push({ request, response });
      received += 1;
      mostAtOnce = Math.max(mostAtOnce, held.length);
      if (held.length === Math.min(8, FILES - (received - held.length))) for (const open of held.splice(0)) open.response.writeHead(200).end();
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

describe("buildResult", () => {
  it("uploads a job's outputs a few at a time, at most eight at once", async () => {
    const result = await buildResult(
      { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, account: privateKeyToAccount(generatePrivateKey()), domain: pondDomain(31337, zeroAddress), maxOutputBytes: 1_000_000 },
      offer,
      { outcome: "succeeded", exitCode: 0, error: null, pullMs: 0, runMs: 1000, outputsDir: dir },
    );
    expect(result).toMatchObject({ outcome: "succeeded", error: null });
    expect(result.manifest!.files).toHaveLength(FILES);
    expect(received).toBe(FILES);
    expect(mostAtOnce).toBe(8);
  });
});
