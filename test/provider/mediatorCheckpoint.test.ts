// A mediator drawn for a job that resumed from a checkpoint re-runs it from the same one:
// the daemon against stand-ins, with a real HTTP server standing in for the API's signed read.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RunRequest } from "../../provider/executor/docker.ts";
import { uploadHeaders } from "../../protocol/uploads.ts";
import { eventually } from "../helpers/eventually.ts";
import { daemonWith, executor, hub, offer, silentOutbox, useDaemonStandIns, welcome } from "./daemonStandIns.ts";

useDaemonStandIns();

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("a mediator's re-run of a job that resumed from a checkpoint", () => {
  it("fetches that checkpoint, signed, and starts the re-run with it in place", async () => {
    const bytes = Buffer.from("weights after epoch 7");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const reads: Array<{ url: string; signed: boolean }> = [];
    server = createServer((request, response) => {
      reads.push({ url: request.url ?? "", signed: typeof request.headers[uploadHeaders.signature.toLowerCase()] === "string" });
      if (request.url !== `/v1/providers/jobs/job_med/data/checkpoint/${sha256}`) return void response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes.length) }).end(bytes);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    daemonWith(silentOutbox(), { api: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    welcome();
    const spec = { ...offer("job_med").spec, checkpoint: { interval_s: 30 } };
    const checkpoint = { files: [{ path: "model.pt", size: bytes.length, sha256 }], bytes: bytes.length, saved_at: Date.now(), provider: `0x${"1".repeat(40)}`, attempt: 0 };
    hub.emit("message", { v: 1, type: "job.mediate", job_id: "job_med", chain_job_id: `0x${"cd".repeat(32)}`, spec, outputs: { files: [], result_hash: `0x${"00".repeat(32)}` }, checkpoint });
    const [run] = await eventually(async () => executor.runs.length === 1 && executor.runs, { what: "the re-run" });
    const restored = (run!.request as RunRequest).checkpoint!;
    expect(restored.files).toEqual(checkpoint.files);
    expect(await readFile(join(restored.dir, "model.pt"))).toEqual(bytes);
    expect(reads).toEqual([{ url: `/v1/providers/jobs/job_med/data/checkpoint/${sha256}`, signed: true }]);
    run!.end("failed");
  });
});
