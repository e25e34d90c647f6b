// Pond's transfer protocol between two real node-datachannel peers in this
// process, over 127.0.0.1, signaled through an in-test relay (SignalRouter).
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ChunkIntegrityError, TransferInterruptedError } from "../../p2p/core/errors.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { receiveFiles, sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSink, STATE_SUFFIX } from "../../p2p/node/fsChunkSink.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import type { TransferFile, TransferManifest } from "../../protocol/transfer.ts";
import { loopbackPeers, type LoopbackPeers } from "../helpers/loopbackPeers.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";

const MiB = 1024 * 1024;
const tempDir = useTempDir("p2p-transfer");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connected(channels = 1): Promise<LoopbackPeers> {
  const peers = loopbackPeers({ channels });
  cleanups.push(() => peers.close());
  await Promise.all([peers.creator.connected, peers.provider.connected]);
  return peers;
}

async function filesOnDisk(sizes: Record<string, number>): Promise<{ from: string; to: string; manifest: TransferManifest; source: FsChunkSource }> {
  const from = join(tempDir(), "from");
  await writeRandomFiles(from, sizes);
  const source = new FsChunkSource(from);
  cleanups.push(() => source.close());
  return { from, to: join(tempDir(), "to"), manifest: await buildTransferManifest(from, Object.keys(sizes)), source };
}

async function expectIntact(to: string, manifest: TransferManifest): Promise<void> {
  for (const file of manifest.files) expect(await sha256OfFile(join(to, file.path)), file.path).toBe(file.sha256);
}

/** Records every chunk the sender was asked for, per file path. */
function requestLog(): { onRequest(file: TransferFile, chunks: readonly number[]): void; chunks(path: string): number[] } {
  const seen = new Map<string, number[]>();
  return {
    onRequest: (file, chunks) => seen.set(file.path, [...(seen.get(file.path) ?? []), ...chunks]),
    chunks: (path) => seen.get(path) ?? [],
  };
}

/** A sender's disk that returns chunk `chunk` with one byte flipped, `times` times. */
function damaging(source: ChunkSource, chunk: number, times: number): ChunkSource {
  let left = times;
  return {
    async read(file, offset, length) {
      const bytes = await source.read(file, offset, length);
      if (offset === chunk * file.chunk_size && left > 0) {
        left -= 1;
        bytes[1234] = bytes[1234]! ^ 0xff;
      }
      return bytes;
    },
  };
}

describe("behavior: sendFiles / receiveFiles", () => {
  it("delivers several files intact: empty, smaller than a message, multi-chunk, sizes not a multiple of 64 KiB", async () => {
    const sizes = { "empty.bin": 0, "tiny.txt": 1000, "a/b/model.bin": 5 * MiB + 12_345, "exact.bin": 2 * MiB };
    const { to, manifest, source } = await filesOnDisk(sizes);
    const peers = await connected(2);
    const [sent, received] = await Promise.all([sendFiles(peers.provider, manifest, source), receiveFiles(peers.creator, manifest, new FsChunkSink(to))]);
    await expectIntact(to, manifest);
    expect(received.bytes).toBe(7 * MiB + 13_345);
    expect(sent.bytes).toBe(received.bytes);
    expect(received.route).toBe("direct");
    expect(received.stats.firstDataMs).toBeGreaterThanOrEqual(0);
    // Nothing left behind but the files themselves.
    expect((await readdir(to)).sort()).toEqual(["a", "empty.bin", "exact.bin", "tiny.txt"]);
    expect(await readdir(join(to, "a", "b"))).toEqual(["model.bin"]);
  });

  it("stripes chunks over every channel it has", async () => {
    const { to, manifest, source } = await filesOnDisk({ "data.bin": 12 * MiB });
    const peers = await connected(3);
    // The answering side gets the channels one by one; wait for all three so the count below is not a race.
    expect(await peers.provider.whenChannels(3)).toHaveLength(3);
    const [sent] = await Promise.all([sendFiles(peers.provider, manifest, source), receiveFiles(peers.creator, manifest, new FsChunkSink(to))]);
    await expectIntact(to, manifest);
    expect(sent.stats.channelsUsed).toBe(3);
  });

  it("detects a chunk that arrives damaged and fetches it again", async () => {
    const { to, manifest, source } = await filesOnDisk({ "data.bin": 4 * MiB + 7 });
    const peers = await connected();
    const log = requestLog();
    const [, received] = await Promise.all([
      sendFiles(peers.provider, manifest, damaging(source, 2, 1), { onRequest: log.onRequest }),
      receiveFiles(peers.creator, manifest, new FsChunkSink(to)),
    ]);
    await expectIntact(to, manifest);
    expect(received.stats.chunksRejected).toBe(1);
    expect(log.chunks("data.bin").sort()).toEqual([0, 1, 2, 2, 3, 4]);
  });

  it("error: fails with ChunkIntegrityError when a chunk is damaged on every attempt, and never shows the file", async () => {
    const { to, manifest, source } = await filesOnDisk({ "data.bin": 3 * MiB });
    const peers = await connected();
    const sending = sendFiles(peers.provider, manifest, damaging(source, 1, Infinity));
    sending.catch(() => {});
    const sink = new FsChunkSink(to);
    cleanups.push(() => sink.close());
    const error = await receiveFiles(peers.creator, manifest, sink, { maxChunkAttempts: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChunkIntegrityError);
    expect((error as Error).message).toContain('chunk 1 of "data.bin" failed its sha256 check 3 time(s)');
    expect(await readdir(to)).not.toContain("data.bin");
  });

  it("resumes a transfer cut mid-way on a new connection, asking only for the chunks it lacks", async () => {
    const { to, manifest, source } = await filesOnDisk({ "big.bin": 24 * MiB + 100, "small.bin": 10 });
    const all = [...manifest.files[0]!.chunks.keys()];
    const first = await connected();
    const sink = new FsChunkSink(to);
    const cutAt = 6 * MiB;
    const results = await Promise.allSettled([
      sendFiles(first.provider, manifest, source),
      receiveFiles(first.creator, manifest, sink, { maxInFlightBytes: 4 * MiB, onProgress: ({ bytesVerified }) => bytesVerified >= cutAt && first.creator.close() }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(TransferInterruptedError);
    await sink.close();
    // What the interrupted receiver stored and listed as verified: exactly what the next one must not ask for.
    const state = JSON.parse(await readFile(join(to, `big.bin${STATE_SUFFIX}`), "utf8")) as { verified: number[] };
    expect(state.verified.length).toBeGreaterThanOrEqual(cutAt / MiB);
    expect(state.verified.length).toBeLessThan(all.length);

    const second = await connected();
    const log = requestLog();
    const [, resumed] = await Promise.all([
      sendFiles(second.provider, manifest, source, { onRequest: log.onRequest }),
      receiveFiles(second.creator, manifest, new FsChunkSink(to)),
    ]);
    await expectIntact(to, manifest);
    expect(log.chunks("big.bin").sort((a, b) => a - b)).toEqual(all.filter((chunk) => !state.verified.includes(chunk)));
    expect(resumed.stats.resumedBytes).toBe(state.verified.length * MiB);
    expect(await readdir(to)).toEqual(expect.not.arrayContaining([`big.bin${STATE_SUFFIX}`]));
  });

  it("lets the sender finish cleanly when the receiver closes the connection the moment it has everything", async () => {
    const { to, manifest, source } = await filesOnDisk({ "a.bin": 3 * MiB + 3 });
    const peers = await connected();
    const sending = sendFiles(peers.provider, manifest, source);
    sending.catch(() => {});
    await receiveFiles(peers.creator, manifest, new FsChunkSink(to));
    peers.creator.close();
    await expect(sending).resolves.toMatchObject({ bytes: 3 * MiB + 3 });
  });

  it("asks for nothing when every file is already there", async () => {
    const { to, manifest, source } = await filesOnDisk({ "a.bin": 2 * MiB + 1, "b.bin": 0 });
    const peers = await connected();
    await Promise.all([sendFiles(peers.provider, manifest, source), receiveFiles(peers.creator, manifest, new FsChunkSink(to))]);
    const again = await receiveFiles(peers.creator, manifest, new FsChunkSink(to));
    expect(again.stats.chunksRequested).toBe(0);
    expect(again.bytes).toBe(0);
    expect(again.stats.resumedBytes).toBe(2 * MiB + 1);
  });

  it("keeps each channel's send buffer bounded by pausing above the high mark", async () => {
    const { to, manifest, source } = await filesOnDisk({ "data.bin": 24 * MiB });
    const peers = await connected();
    const backpressure = { highWaterBytes: 512 * 1024, lowWaterBytes: 128 * 1024 };
    const [sent] = await Promise.all([sendFiles(peers.provider, manifest, source, { backpressure }), receiveFiles(peers.creator, manifest, new FsChunkSink(to))]);
    await expectIntact(to, manifest);
    expect(sent.stats.pauses).toBeGreaterThan(0);
    // At most one 64 KiB message over the mark: the check comes before each send.
    expect(sent.stats.maxBufferedAmount).toBeLessThanOrEqual(backpressure.highWaterBytes + 64 * 1024);
  });
});
