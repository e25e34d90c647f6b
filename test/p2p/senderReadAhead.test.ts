// The sender reads a channel's next chunk while it sends the current one, so
// the link is not left idle waiting for the disk. Real node-datachannel peers
// on 127.0.0.1; the sender's disk is wrapped to record (or fail) its reads.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SenderFailedError } from "../../p2p/core/errors.ts";
import { ChunkSender } from "../../p2p/core/sender.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { receiveFiles, sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import { parseDataFrame, TRANSFER_PROTOCOL_VERSION } from "../../protocol/transfer.ts";
import { eventually } from "../helpers/eventually.ts";
import { loopbackPeers } from "../helpers/loopbackPeers.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";

const MiB = 1024 * 1024;
const tempDir = useTempDir("p2p-read-ahead");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(sizeMiB: number, channels = 1) {
  const from = join(tempDir(), "from");
  await writeRandomFiles(from, { "data.bin": sizeMiB * MiB });
  const source = new FsChunkSource(from);
  const sink = new FsChunkSink(join(tempDir(), "to"));
  const peers = loopbackPeers({ channels });
  cleanups.push(() => source.close(), () => sink.close(), () => peers.close());
  await Promise.all([peers.creator.connected, peers.provider.connected]);
  await Promise.all([peers.creator.whenChannels(channels), peers.provider.whenChannels(channels)]);
  return { source, sink, peers, to: join(tempDir(), "to"), manifest: await buildTransferManifest(from, ["data.bin"]) };
}

describe("behavior: the sender reads ahead", () => {
  it("starts reading a channel's next chunk before the current one is sent", async () => {
    const { source, sink, peers, to, manifest } = await setUp(4);
    const events: string[] = [];
    const recording: ChunkSource = {
      read(file, offset, length) {
        events.push(`read ${offset / file.chunk_size}`);
        return source.read(file, offset, length);
      },
    };
    const chunkSize = manifest.files[0]!.chunk_size;
    const onProgress = ({ bytesSent }: { bytesSent: number }) => events.push(`sent ${bytesSent / chunkSize - 1}`);
    await Promise.all([sendFiles(peers.provider, manifest, recording, { onProgress }), receiveFiles(peers.creator, manifest, sink)]);
    expect(await sha256OfFile(join(to, "data.bin"))).toBe(manifest.files[0]!.sha256);
    // Each chunk is read once, and chunk n + 1's read is under way before chunk n's last frame is queued.
    expect(events.filter((e) => e.startsWith("read")).sort()).toEqual(["read 0", "read 1", "read 2", "read 3"]);
    for (let chunk = 0; chunk < 3; chunk++) expect(events.indexOf(`read ${chunk + 1}`), events.join(", ")).toBeLessThan(events.indexOf(`sent ${chunk}`));
  });

  it("error: a chunk read ahead that cannot be read fails the transfer with read_failed, on both sides", async () => {
    const { source, sink, peers, manifest } = await setUp(4);
    const failing: ChunkSource = {
      async read(file, offset, length) {
        if (offset === 2 * file.chunk_size) throw new Error("disk gone");
        return source.read(file, offset, length);
      },
    };
    const [sent, received] = await Promise.allSettled([sendFiles(peers.provider, manifest, failing), receiveFiles(peers.creator, manifest, sink)]);
    expect(sent.status === "rejected" && sent.reason).toBeInstanceOf(SenderFailedError);
    expect(sent.status === "rejected" && (sent.reason as Error).message).toMatch(/cannot read chunk 2 of "data.bin": disk gone/);
    expect(received.status === "rejected" && (received.reason as Error).message).toMatch(/read_failed \(file 0, chunk 2\)/);
  });

  it("sends the chunks a closed channel had read ahead on the channel that is left", async () => {
    const { source, sink, peers, to, manifest } = await setUp(8, 2);
    const [closing] = peers.provider.channels();
    let closed = false;
    const onProgress = () => {
      if (closed) return;
      closed = true;
      closing!.close();
    };
    const [sent] = await Promise.all([sendFiles(peers.provider, manifest, source, { onProgress }), receiveFiles(peers.creator, manifest, sink)]);
    expect(closed).toBe(true);
    expect(await sha256OfFile(join(to, "data.bin"))).toBe(manifest.files[0]!.sha256);
    expect(sent.stats.chunksSent).toBeGreaterThanOrEqual(manifest.files[0]!.chunks.length);
  });
});

describe("behavior: requests that come while the sender is busy", () => {
  it("sends what was asked for while its last queued chunk was on its way, without the receiver asking again", async () => {
    const from = join(tempDir(), "two");
    await writeRandomFiles(from, { "a.bin": 1000, "b.bin": 2000 });
    const manifest = await buildTransferManifest(from, ["a.bin", "b.bin"]);
    const source = new FsChunkSource(from);
    const peers = loopbackPeers();
    cleanups.push(() => source.close(), () => peers.close());
    await Promise.all([peers.creator.connected, peers.provider.connected]);
    await Promise.all([peers.creator.whenChannels(1), peers.provider.whenChannels(1)]);
    // a.bin's read waits until b.bin has been asked for: the sender's only queued chunk is then under way.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const reading: string[] = [];
    const gated: ChunkSource = {
      read: async (file, offset, length) => {
        reading.push(file.path);
        if (file.path === "a.bin") await released;
        return source.read(file, offset, length);
      },
    };
    const asked: string[] = [];
    const sender = new ChunkSender(manifest, gated, { onRequest: (file) => asked.push(file.path) });
    sender.attach(peers.provider.channels()[0]!);
    const receiver = peers.creator.channels()[0]!;
    const arrived = new Set<number>();
    receiver.onMessage((message) => {
      if (typeof message === "string") return;
      const frame = parseDataFrame(message);
      if (frame.ok) arrived.add(frame.file);
    });
    const ask = (file: number) => receiver.sendText(JSON.stringify({ v: TRANSFER_PROTOCOL_VERSION, type: "request", file, chunks: [0] }));
    ask(0);
    await eventually(async () => reading.includes("a.bin"), { what: "a.bin's read to start" });
    ask(1);
    await eventually(async () => asked.includes("b.bin"), { what: "b.bin's request to reach the sender" });
    release();
    // No receiver here asks again (the real one does so only after half its idle timeout, 15 s).
    await eventually(async () => arrived.has(0) && arrived.has(1), { timeoutMs: 5_000, what: "both files' chunks, each asked for once" });
    sender.cancel(new Error("test over"));
  });
});
