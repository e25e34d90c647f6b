// A provider serving a finished job's kept outputs to a pipeline's next job's
// provider (a consumer): real transfer processes over 127.0.0.1, the server's
// signaling through a JobSignaling on a stand-in hub socket that stamps the
// consumer's offers as the real hub and rendezvous do (their side is tested in
// test/worker/signaling/consumerSignaling.test.ts). A consumer gets the outputs
// its offer was stamped with, and nothing else of the job's.
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { consumerRole, isConsumerRole, SIGNALING_PROTOCOL_VERSION, type ClientSignal, type ServerSignal } from "../../../protocol/signaling.ts";
import type { TransferManifest } from "../../../protocol/transfer.ts";
import type { SelectedFile } from "../../../p2p/core/manifestExchange.ts";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { IsolatedTransfer } from "../../../p2p/node/isolated/isolatedTransfer.ts";
import type { FetchJob } from "../../../p2p/node/isolated/messages.ts";
import { NOTHING_FOR_YOU } from "../../../provider/dataplane/jobSignaling.ts";
import { RetainedFilesServer } from "../../../provider/dataplane/retainedFilesServer.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { silentLog, standInHub } from "./standInHub.ts";
import { sha256OfFile, writeRandomFiles } from "../../helpers/testFiles.ts";

const MiB = 1024 * 1024;
const SOURCE_JOB = "job_source0000000000000000000001";
const NEXT_JOB = "job_next00000000000000000000000001";
const CONSUMER = consumerRole(NEXT_JOB)!;
const tempDir = useTempDir("consumed-outputs");
const closing: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** The source job's provider: its kept outputs served by the outputs server, its hub socket a stand-in. */
async function sourceProvider(): Promise<{ manifest: TransferManifest; deliver(signal: ServerSignal, jobId?: string): void; onSent(listener: (signal: ClientSignal) => void): void }> {
  const root = join(tempDir(), "kept");
  await writeRandomFiles(root, { "metrics.json": 700, "model.pt": 2 * MiB + 3, "samples/all.bin": 3 * MiB });
  const manifest = await buildTransferManifest(root, ["metrics.json", "model.pt", "samples/all.bin"]);
  const sent = new EventEmitter();
  const hub = standInHub(({ signal }) => sent.emit("signal", signal));
  const server = new RetainedFilesServer({ signaling: hub.signaling, log: silentLog, what: "outputs", connectTimeoutMs: 10_000, bindAddress: "127.0.0.1", serves: (role) => role === "creator" || isConsumerRole(role) });
  server.watch({ jobId: SOURCE_JOB, manifest, root });
  closing.push(() => server.close());
  return {
    manifest,
    deliver: (signal, jobId = SOURCE_JOB) => hub.deliver(jobId, signal),
    onSent: (listener) => sent.on("signal", listener),
  };
}

/** The next job's provider fetching `select` of the source's outputs; its offers stamped with `stamped` (as the hub does), or not. */
function consumerFetch(source: Awaited<ReturnType<typeof sourceProvider>>, select: SelectedFile[], stamped: string[] | undefined, options: { connectTimeoutMs?: number; jobId?: string } = {}) {
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const job: FetchJob = {
    kind: "fetch",
    peer: { iceServers: [], connectTimeoutMs, bindAddress: "127.0.0.1", name: "test-consumer" },
    dir: join(tempDir(), "inputs"),
    expected: select.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
    select,
  };
  const transfer = new IsolatedTransfer<FetchJob>(job, {
    signal: (message) => {
      const relayed = { v: SIGNALING_PROTOCOL_VERSION, dst: "provider", src: CONSUMER, ...message } as ServerSignal;
      source.deliver(message.type === "offer" && stamped ? ({ ...relayed, outputs: stamped } as ServerSignal) : relayed, options.jobId);
    },
  });
  source.onSent((signal) => {
    if (signal.dst === CONSUMER && signal.type !== "offer") transfer.deliver(signal);
  });
  closing.push(async () => {
    transfer.close();
    await transfer.result.catch(() => {});
  });
  return { transfer, dir: job.dir };
}

const wanted = (manifest: TransferManifest, sourcePath: string, path: string): SelectedFile => {
  const file = manifest.files.find((candidate) => candidate.path === sourcePath)!;
  return { path, size: file.size, sha256: file.sha256, sourcePath };
};

describe("a job's kept outputs served to a pipeline's next job's provider", () => {
  it("serves the outputs the consumer's offer was stamped with, under the consumer's names", { timeout: 60_000 }, async () => {
    const source = await sourceProvider();
    const model = wanted(source.manifest, "model.pt", "weights/in.pt");
    const { transfer, dir } = consumerFetch(source, [model], ["model.pt"]);
    const fetched = await transfer.result;
    expect(fetched.bytes).toBe(model.size);
    expect(await sha256OfFile(join(dir, "weights/in.pt"))).toBe(model.sha256);
  });

  it("does not serve an output the offer was not stamped with, whatever the consumer asks for", { timeout: 60_000 }, async () => {
    const source = await sourceProvider();
    const { transfer } = consumerFetch(source, [wanted(source.manifest, "samples/all.bin", "all.bin")], ["model.pt"]);
    await expect(transfer.result).rejects.toMatchObject({ code: "file_integrity", message: expect.stringContaining('"samples/all.bin" is not among the sender\'s files') });
  });

  it("serves two stamped outputs as a manifest of their own, from which the consumer takes the second", { timeout: 60_000 }, async () => {
    const source = await sourceProvider();
    const all = wanted(source.manifest, "samples/all.bin", "all.bin");
    const { transfer, dir } = consumerFetch(source, [all], ["model.pt", "samples/all.bin"]);
    expect((await transfer.result).bytes).toBe(all.size);
    expect(await sha256OfFile(join(dir, "all.bin"))).toBe(all.sha256);
  });

  it("turns away at once a consumer's offer that was not stamped at all", { timeout: 60_000 }, async () => {
    const source = await sourceProvider();
    const { transfer } = consumerFetch(source, [wanted(source.manifest, "model.pt", "model.pt")], undefined, { connectTimeoutMs: 30_000 });
    await expect(transfer.result).rejects.toMatchObject({ code: "peer_left", message: expect.stringContaining(NOTHING_FOR_YOU) });
  });

  it("tells an offer for a job whose outputs it does not keep (expired, or never kept) to go elsewhere at once", { timeout: 60_000 }, async () => {
    const source = await sourceProvider();
    const { transfer } = consumerFetch(source, [wanted(source.manifest, "model.pt", "model.pt")], ["model.pt"], { connectTimeoutMs: 30_000, jobId: "job_expired000000000000000000001" });
    // Long before its 30 s connect timeout.
    await expect(transfer.result).rejects.toMatchObject({ code: "peer_left", message: expect.stringContaining(NOTHING_FOR_YOU) });
  });
});
