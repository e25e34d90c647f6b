// Putting a fetched checkpoint in a job's /outputs before its start: where the
// files land, that the job's unprivileged user can replace them, and that a
// path out of the folder is refused.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { HubClient } from "../../../provider/connection/hubClient.ts";
import { placeCheckpoint, restoredCheckpointDir } from "../../../provider/checkpoints/checkpointRestore.ts";
import { restoreCheckpoint } from "../../../provider/checkpoints/jobCheckpoints.ts";
import { throttledDetail } from "../../../provider/dataplane/progressDetail.ts";
import type { OfferMessage } from "../../../protocol/hubMessages.ts";

let workDir: string;
beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), "pond-restore-"));
  await mkdir(join(workDir, "outputs"));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe("placeCheckpoint", () => {
  it("makes an empty, writable checkpoint folder for a job starting fresh", async () => {
    await placeCheckpoint(join(workDir, "outputs"));
    expect((await stat(join(workDir, "outputs", "checkpoint"))).mode & 0o777).toBe(0o777);
  });

  it("puts the fetched files in place, writable by the job, and lets the daemon's copy go", async () => {
    const dir = restoredCheckpointDir(workDir);
    await mkdir(join(dir, "optim"), { recursive: true });
    await writeFile(join(dir, "model.pt"), "weights");
    await writeFile(join(dir, "optim", "state"), "adam");
    const files = [{ path: "model.pt", size: 7, sha256: "a".repeat(64) }, { path: "optim/state", size: 4, sha256: "b".repeat(64) }];
    await placeCheckpoint(join(workDir, "outputs"), { dir, files });
    const folder = join(workDir, "outputs", "checkpoint");
    expect(await readFile(join(folder, "model.pt"), "utf8")).toBe("weights");
    expect(await readFile(join(folder, "optim", "state"), "utf8")).toBe("adam");
    expect((await stat(join(folder, "optim", "state"))).mode & 0o777).toBe(0o666);
    expect((await stat(join(folder, "optim"))).mode & 0o777).toBe(0o777);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it("refuses a path that leaves the folder", async () => {
    const dir = restoredCheckpointDir(workDir);
    await mkdir(dir, { recursive: true });
    await expect(placeCheckpoint(join(workDir, "outputs"), { dir, files: [{ path: "../escape", size: 1, sha256: "a".repeat(64) }] })).rejects.toThrow(/not a path inside/);
  });
});

describe("restoreCheckpoint", () => {
  it("fetches the offer's checkpoint reporting progress in percent, which the status throttle thins out, not a message a chunk", async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    // Sent in 64 KiB pieces, as a network delivers them: every piece reports progress.
    // Piped (backpressure left to the stream): with writes chained on their callbacks this test ran into its 30 s
    // twice on a loaded machine, 2026-12-07 (where it waited was not found; 60 runs alone never did).
    const pieces = function* () {
      for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
    };
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-length": String(bytes.length) });
      Readable.from(pieces(), { objectMode: false }).pipe(response);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const checkpoint = { files: [{ path: "model.pt", size: bytes.length, sha256 }], bytes: bytes.length, saved_at: Date.UTC(2026, 11, 7), provider: `0x${"1".repeat(40)}`, attempt: 0 };
      const offer = { job_id: "job_resumed", spec: { checkpoint: {} }, checkpoint } as unknown as OfferMessage;
      const details: string[] = [];
      const sent: string[] = [];
      const deps = { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, account: privateKeyToAccount(generatePrivateKey()), hub: {} as HubClient, log: pino({ level: "silent" }), maxOutputBytes: bytes.length };
      const throttled = throttledDetail((detail) => sent.push(detail));
      const restored = await restoreCheckpoint(deps, { offer, workDir }, (detail) => {
        details.push(detail);
        throttled(detail);
      }, new AbortController().signal);
      expect(await readFile(join(restored!.dir, "model.pt"))).toEqual(bytes);
      expect(details.length).toBeGreaterThan(10);
      for (const detail of details) expect(detail).toMatch(/^fetching the checkpoint saved at 2026-12-07T00:00:00\.000Z: \d+% of 3\.0 MiB, from the API's store$/);
      expect(sent.at(-1)).toMatch(/: 100% of 3\.0 MiB/);
      expect(sent.length).toBeLessThan(details.length);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
