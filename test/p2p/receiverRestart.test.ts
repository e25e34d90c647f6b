// A receiver process killed mid-transfer (SIGKILL: no chance to clean up) and
// started again resumes from what it left on disk, asking only for the rest.
// The receiver runs as a child process; the sender and the signaling relay run here.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import { STATE_SUFFIX } from "../../p2p/node/fsChunkSink.ts";
import { NodePeer } from "../../p2p/node/peer.ts";
import { eventually } from "../helpers/eventually.ts";
import { deliverTo, signalTo } from "../helpers/signalingLink.ts";
import { spawnProcess, type Spawned } from "../helpers/processes.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";
import { startWsSignalingRelay } from "../helpers/wsSignalingRelay.ts";
import { tsNode } from "../helpers/tsNode.ts";

const MiB = 1024 * 1024;
/** Until the first receiver is killed, the sender serves only this much: the first run cannot finish, however fast. */
const SERVED_BEFORE_KILL = 16 * MiB;
const root = join(import.meta.dirname, "..", "..");
const tempDir = useTempDir("p2p-restart");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("behavior: a killed receiver", () => {
  it("resumes from disk after a restart and fetches only the chunks it had not verified", { timeout: 120_000 }, async () => {
    const from = join(tempDir(), "from");
    const to = join(tempDir(), "to");
    await writeRandomFiles(from, { "weights.bin": 48 * MiB + 333 });
    const manifest = await buildTransferManifest(from, ["weights.bin"]);
    const manifestPath = join(tempDir(), "manifest.json");
    await writeFile(manifestPath, JSON.stringify(manifest));
    const files = new FsChunkSource(from);
    let killed = () => {};
    const afterKill = new Promise<void>((resolve) => (killed = resolve));
    const source: ChunkSource = {
      read: async (file, offset, length) => {
        if (offset >= SERVED_BEFORE_KILL) await afterKill;
        return files.read(file, offset, length);
      },
    };
    const relay = await startWsSignalingRelay();
    cleanups.push(() => relay.close(), () => files.close(), () => killed());

    // The provider side: a fresh answering peer for each offer, each serving the manifest and logging what it was asked for.
    const sessions: Array<{ peer: NodePeer; requested: number[]; sending: Promise<unknown> }> = [];
    const link = relay.router.join("provider", (raw) => {
      if (JSON.parse(raw).type === "offer") {
        const peer = new NodePeer({ role: "answer", bindAddress: "127.0.0.1", signal: signalTo(() => ({ send: link.receive }), "creator") });
        const session = { peer, requested: [] as number[], sending: Promise.resolve() as Promise<unknown> };
        session.sending = peer.connected.then(() => sendFiles(peer, manifest, source, { onRequest: (_file, chunks) => session.requested.push(...chunks) })).catch((error: unknown) => error);
        sessions.push(session);
        cleanups.push(() => peer.close());
      }
      deliverTo(() => sessions.at(-1)?.peer, "creator")(raw);
    });

    const receiver = (): Spawned => {
      const options = { action: "receive", me: "creator", peer: "provider", offer: true, signalingUrl: relay.url, dir: to, manifestPath, bindAddress: "127.0.0.1" };
      const child = spawnProcess(...tsNode(join(root, "test", "p2p", "fixtures", "transferPeer.ts"), [JSON.stringify(options)]), { name: "receiver" });
      cleanups.push(() => child.stop("SIGKILL"));
      return child;
    };

    const first = receiver();
    await first.waitFor(/"event":"progress","bytesVerified":(?:[89]|[1-9]\d)\d{6}/, 60_000);
    // Killed once its state file names some chunks: the file is written behind the chunks (coalesced), and
    // on a loaded machine it can still name none when 8 MiB have been verified.
    const statePath = join(to, `weights.bin${STATE_SUFFIX}`);
    await eventually(async () => ((JSON.parse(await readFile(statePath, "utf8")) as { verified: number[] }).verified.length > 0), { what: "the state file to name a chunk" });
    await first.stop("SIGKILL");
    killed();
    expect(first.output()).not.toContain('"event":"done"');
    const { verified } = JSON.parse(await readFile(statePath, "utf8")) as { verified: number[] };
    const all = [...manifest.files[0]!.chunks.keys()];
    // The state file may lag the last chunks written (they are simply fetched again), but it names some.
    expect(verified.length).toBeGreaterThan(0);
    expect(verified.length).toBeLessThanOrEqual(SERVED_BEFORE_KILL / MiB);

    const second = receiver();
    const done = JSON.parse((await second.waitFor(/\{"event":"done".*\}/, 90_000)).trim()) as { bytes: number; stats: { resumedBytes: number } };
    expect(await sha256OfFile(join(to, "weights.bin"))).toBe(manifest.files[0]!.sha256);
    expect(sessions).toHaveLength(2);
    // Each chunk it lacked, and none it had verified. A chunk may be asked for twice: with no data for half
    // its idle timeout (a loaded machine), the receiver asks again for what is outstanding (p2p/core/receiver.ts).
    expect([...new Set(sessions[1]!.requested)].sort((a, b) => a - b)).toEqual(all.filter((chunk) => !verified.includes(chunk)));
    expect(done.stats.resumedBytes).toBe(verified.length * MiB);
    expect(done.bytes).toBe(manifest.files[0]!.size - verified.length * MiB);
  });
});
