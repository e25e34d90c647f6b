// The sender reads a channel's next chunk while it sends the current one, so
// the link is not left idle waiting for the disk. Real node-datachannel peers
// on 127.0.0.1; the sender's disk is wrapped to record (or fail) its reads.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SenderFailedError } from "../../p2p/core/errors.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { receiveFiles, sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
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
