// The next job's provider fetching its inputs from the source job's provider
// (provider/dataplane/peerSourceFetch.ts): two daemons' JobSignaling and real
// transfer processes over 127.0.0.1, their hub sockets stand-ins joined by a
// router that stamps roles and consumed outputs as the real hub and rendezvous do
// (tested themselves in test/worker/signaling/consumerSignaling.test.ts).
import { copyFile, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ResolvedInputFile } from "../../../protocol/jobSpec.ts";
import { consumerRole, isConsumerRole, type ServerSignal } from "../../../protocol/signaling.ts";
import type { JobSignaling } from "../../../provider/dataplane/jobSignaling.ts";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import { deadlineFor, fetchSourcesFromPeers } from "../../../provider/dataplane/peerSourceFetch.ts";
import { RetainedFilesServer } from "../../../provider/dataplane/retainedFilesServer.ts";
import type { SourceInputFile } from "../../../provider/dataplane/sourceFetch.ts";
import { eventually } from "../../helpers/eventually.ts";
import { useTempDir } from "../../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../../helpers/testFiles.ts";
import { silentLog, standInHub, type StandInHub } from "./standInHub.ts";

const MiB = 1024 * 1024;
const SOURCE = "job_source0000000000000000000001";
const NEXT = "job_next00000000000000000000000001";
const log = silentLog;
const tempDir = useTempDir("peer-source-fetch");
const closing: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of closing.splice(0).reverse()) await close();
});

/** What the relay between the two does with each frame: `forward` passes it on (now, later, or never). */
interface Between {
  toSource(signal: ServerSignal, forward: () => void): void;
  toConsumer(signal: ServerSignal, forward: () => void): void;
}
const straight: Between = { toSource: (_, forward) => forward(), toConsumer: (_, forward) => forward() };

/**
 * The source job's provider keeping `outputs` (or keeping nothing), and the next job's provider's
 * signaling; the next job takes `consumed` of the source's outputs (what the hub stamps).
 */
async function twoProviders(outputs: Record<string, number> | undefined, consumed: string[], between = straight) {
  // The hub and rendezvous between them: the source's signals reach the consumer from "provider"; the consumer's
  // reach the source from its consumer role, its offers stamped with the outputs its job takes.
  const source: StandInHub = standInHub(({ signal }) => {
    const relayed = { ...signal, src: "provider" } as ServerSignal;
    between.toConsumer(relayed, () => consumer.deliver(SOURCE, relayed));
  });
  const consumer: StandInHub = standInHub(({ signal, for_job }) => {
    const relayed = { ...signal, src: consumerRole(for_job!)! } as ServerSignal;
    const stamped = relayed.type === "offer" ? ({ ...relayed, outputs: consumed } as ServerSignal) : relayed;
    between.toSource(stamped, () => source.deliver(SOURCE, stamped));
  });
  const server = new RetainedFilesServer({ signaling: source.signaling, log, what: "outputs", connectTimeoutMs: 10_000, bindAddress: "127.0.0.1", serves: (role) => isConsumerRole(role) });
  closing.push(() => server.close());
  const root = join(tempDir(), "kept");
  if (outputs) {
    await writeRandomFiles(root, outputs);
    server.watch({ jobId: SOURCE, manifest: await buildTransferManifest(root, Object.keys(outputs)), root });
  }
  return { root, consumerSignaling: consumer.signaling };
}

async function input(root: string, output: string, path: string): Promise<SourceInputFile> {
  const file = join(root, output);
  const { size } = await stat(file);
  return { path, size, sha256: await sha256OfFile(file), from: { job: SOURCE, output } } satisfies ResolvedInputFile as SourceInputFile;
}

const fetchInto = (inputsDir: string, files: SourceInputFile[], signaling: JobSignaling, connectTimeoutMs = 10_000, deadlineMs?: number) =>
  fetchSourcesFromPeers({ jobId: NEXT, files, inputsDir, signaling, connectTimeoutMs, bindAddress: "127.0.0.1", log, onDetail: () => {}, ...(deadlineMs ? { deadlineMs } : {}) });

describe("a pipeline's inputs from the source job's provider", () => {
  it("takes the outputs its inputs name under their paths, copies an output two inputs name, and leaves nothing staged", { timeout: 60_000 }, async () => {
    const { root, consumerSignaling } = await twoProviders({ "model.pt": 3 * MiB + 1, "metrics.json": 500, "unused.bin": 2 * MiB }, ["model.pt", "metrics.json"]);
    const files = [await input(root, "model.pt", "weights/a.pt"), await input(root, "model.pt", "weights/b.pt"), await input(root, "metrics.json", "m.json")];
    const inputsDir = join(tempDir(), "job", "inputs");
    const fetched = await fetchInto(inputsDir, files, consumerSignaling);
    // The model moved once; its second input path is a local copy.
    expect({ route: fetched.route, bytes: fetched.bytes }).toEqual({ route: "direct", bytes: files[0]!.size + files[2]!.size });
    expect(fetched.files.map((file) => file.path).sort()).toEqual(["m.json", "weights/a.pt", "weights/b.pt"]);
    for (const file of files) expect(await sha256OfFile(join(inputsDir, file.path)), file.path).toBe(file.sha256);
    expect((await readdir(inputsDir, { recursive: true })).sort()).toEqual(["m.json", "weights", "weights/a.pt", "weights/b.pt"]);
    expect(await readdir(join(dirname(inputsDir), "inputs-peer")).catch(() => [])).toEqual([]);
  });

  it("fetches nothing the input cache already put in place", { timeout: 60_000 }, async () => {
    const { root, consumerSignaling } = await twoProviders({ "model.pt": 2 * MiB, "metrics.json": 500 }, ["model.pt", "metrics.json"]);
    const files = [await input(root, "model.pt", "model.pt"), await input(root, "metrics.json", "metrics.json")];
    const inputsDir = join(tempDir(), "job", "inputs");
    await mkdir(inputsDir, { recursive: true });
    await copyFile(join(root, "model.pt"), join(inputsDir, "model.pt"));
    const fetched = await fetchInto(inputsDir, files, consumerSignaling);
    expect({ bytes: fetched.bytes, paths: fetched.files.map((file) => file.path) }).toEqual({ bytes: 500, paths: ["metrics.json"] });
  });

  it("comes back empty at once, nothing left behind, from a provider that keeps none of the source's outputs", { timeout: 60_000 }, async () => {
    const { consumerSignaling } = await twoProviders(undefined, ["model.pt"]);
    const root = join(tempDir(), "elsewhere");
    await writeRandomFiles(root, { "model.pt": MiB });
    const inputsDir = join(tempDir(), "job", "inputs");
    const started = Date.now();
    const fetched = await fetchInto(inputsDir, [await input(root, "model.pt", "model.pt")], consumerSignaling, 30_000);
    expect(fetched).toEqual({ files: [], bytes: 0, route: undefined });
    // Turned away, not left to wait out its 30 s connect timeout.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await readdir(inputsDir).catch(() => [])).toEqual([]);
    expect(await readdir(join(dirname(inputsDir), "inputs-peer")).catch(() => [])).toEqual([]);
  });

  it("leaves for R2 a transfer still going at its deadline, keeping nothing of it", { timeout: 60_000 }, async () => {
    const { root, consumerSignaling } = await twoProviders({ "model.pt": 64 * MiB }, ["model.pt"]);
    const file = await input(root, "model.pt", "model.pt");
    const inputsDir = join(tempDir(), "job", "inputs");
    // A deadline no transfer of 64 MiB meets here (starting the transfer process alone takes longer).
    const fetched = await fetchInto(inputsDir, [file], consumerSignaling, 10_000, 300);
    expect(fetched).toEqual({ files: [], bytes: 0, route: undefined });
    expect(await readdir(inputsDir).catch(() => [])).toEqual([]);
    expect(await readdir(join(dirname(inputsDir), "inputs-peer")).catch(() => [])).toEqual([]);
    // The deadline was this source's: asked again, the files come whole.
    const again = await fetchInto(inputsDir, [file], consumerSignaling);
    expect(again.bytes).toBe(file.size);
    expect(await sha256OfFile(join(inputsDir, "model.pt"))).toBe(file.sha256);
  });

  it("takes nothing of a fetch it gave up on: the late answer to that offer reaches the next fetch first, which still gets the files", { timeout: 60_000 }, async () => {
    let firstSession: string | undefined;
    const held: Array<{ type: string; release: () => void }> = [];
    const giveUp = new AbortController();
    const { root, consumerSignaling } = await twoProviders({ "model.pt": 4 * MiB }, ["model.pt"], {
      toSource: (signal, forward) => {
        if (signal.type === "offer" && firstSession === undefined) {
          firstSession = signal.session;
          // The first fetch gives up as soon as its offer is out.
          queueMicrotask(() => giveUp.abort());
        } else if (signal.type === "offer") {
          // The first offer's answer (and candidates), held until now, arrive before the next offer is even answered.
          for (const frame of held.splice(0)) frame.release();
        }
        forward();
      },
      toConsumer: (signal, forward) => {
        if (firstSession !== undefined && "session" in signal && signal.session === firstSession) held.push({ type: signal.type, release: forward });
        else forward();
      },
    });
    const file = await input(root, "model.pt", "model.pt");
    const inputsDir = join(tempDir(), "job", "inputs");
    const fetch = (signal?: AbortSignal) =>
      fetchSourcesFromPeers({ jobId: NEXT, files: [file], inputsDir, signaling: consumerSignaling, connectTimeoutMs: 10_000, bindAddress: "127.0.0.1", log, onDetail: () => {}, ...(signal ? { signal } : {}) });
    await expect(fetch(giveUp.signal)).rejects.toThrow();
    await eventually(async () => held.some((frame) => frame.type === "answer"), { what: "the source to answer the offer given up on" });
    const started = Date.now();
    const fetched = await fetch();
    expect(fetched.bytes).toBe(file.size);
    expect(await sha256OfFile(join(inputsDir, "model.pt"))).toBe(file.sha256);
    expect(held).toEqual([]);
    // Connected on its own answer, not after waiting out its connect timeout on the stale one.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("gives a source the connect timeout and a minute's grace, then 4 MiB/s on average", () => {
    expect(deadlineFor(10_000, 0)).toBe(70_000);
    expect(deadlineFor(10_000, 1024 * MiB)).toBe(70_000 + 256_000);
  });

  it("leaves for R2 what a source's provider serves wrong, keeping nothing of it", { timeout: 60_000 }, async () => {
    const { root, consumerSignaling } = await twoProviders({ "model.pt": 2 * MiB }, ["model.pt"]);
    const file = await input(root, "model.pt", "model.pt");
    // The kept copy changed on disk after its manifest was made: every chunk fails its sha256.
    await writeFile(join(root, "model.pt"), Buffer.alloc(file.size, 7));
    const inputsDir = join(tempDir(), "job", "inputs");
    const fetched = await fetchInto(inputsDir, [file], consumerSignaling);
    expect(fetched).toEqual({ files: [], bytes: 0, route: undefined });
    expect(await readdir(inputsDir).catch(() => [])).toEqual([]);
  });
});
