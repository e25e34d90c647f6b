import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRetryableUpload, UploadError, uploadOutputWithRetry, uploadTimeoutMs } from "../../provider/uploads.ts";

describe("isRetryableUpload", () => {
  it("retries network failures, overload and server errors only", () => {
    expect(isRetryableUpload(new TypeError("fetch failed"))).toBe(true);
    expect(isRetryableUpload(new DOMException("timed out", "TimeoutError"))).toBe(true);
    for (const status of [429, 500, 502, 503]) expect(isRetryableUpload(new UploadError("x", status)), String(status)).toBe(true);
    for (const status of [400, 401, 403, 404, 409, 413]) expect(isRetryableUpload(new UploadError("x", status)), String(status)).toBe(false);
  });
});

describe("uploadTimeoutMs", () => {
  it("gives 30 s plus a second per MiB", () => {
    expect(uploadTimeoutMs(0)).toBe(30_000);
    expect(uploadTimeoutMs(1)).toBe(31_000);
    expect(uploadTimeoutMs(100 * 1024 * 1024)).toBe(130_000);
  });
});

describe("uploadOutputWithRetry", () => {
  let dir: string;
  let server: Server;
  let statuses: number[];
  let requests: number;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pond-upload-"));
    await writeFile(join(dir, "out.txt"), "hello\n");
    requests = 0;
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        const status = statuses[Math.min(requests, statuses.length - 1)]!;
        requests += 1;
        response.writeHead(status).end(status === 200 ? "" : "no");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const upload = (retry?: Parameters<typeof uploadOutputWithRetry>[1]) =>
    uploadOutputWithRetry({
      api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      account: privateKeyToAccount(generatePrivateKey()),
      jobId: "job_1",
      path: "out.txt",
      file: join(dir, "out.txt"),
      sha256: "0".repeat(64),
      size: 6,
    }, retry);

  it("gives up at once on an answer that cannot change", async () => {
    statuses = [403];
    await expect(upload()).rejects.toThrow(/HTTP 403/);
    expect(requests).toBe(1);
  });

  it("tries again after a server error", async () => {
    statuses = [503, 200];
    await upload();
    expect(requests).toBe(2);
  });

  it("keeps trying through an outage longer than a few attempts (the API restarting)", async () => {
    statuses = [503, 503, 503, 503, 503, 503, 503, 503, 200];
    await upload({ firstPauseMs: 1 });
    expect(requests).toBe(9);
  });

  it("gives up once its window has passed, with the last error", async () => {
    statuses = [503];
    await expect(upload({ firstPauseMs: 1, windowMs: 50 })).rejects.toThrow(/HTTP 503/);
    expect(requests).toBeGreaterThan(1);
  });
});
