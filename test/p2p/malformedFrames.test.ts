// Frames that break the transfer protocol, sent over a real data channel: each
// is refused with an error frame that says why, and the transfer still completes.
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Channel } from "../../p2p/core/channel.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { receiveFiles, sendFiles } from "../../p2p/core/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { FsChunkSink } from "../../p2p/node/fsChunkSink.ts";
import { FsChunkSource } from "../../p2p/node/fsChunkSource.ts";
import type { NodeChannel } from "../../p2p/node/channel.ts";
import { parseControlFrame, writeDataFrameHeader, type ErrorFrame } from "../../protocol/transfer.ts";
import { eventually } from "../helpers/eventually.ts";
import { loopbackPeers, type LoopbackPeers } from "../helpers/loopbackPeers.ts";
import { useTempDir } from "../helpers/tempDir.ts";
import { sha256OfFile, writeRandomFiles } from "../helpers/testFiles.ts";

const MiB = 1024 * 1024;
const tempDir = useTempDir("p2p-malformed");
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp() {
  const from = join(tempDir(), "from");
  const to = join(tempDir(), "to");
  await writeRandomFiles(from, { "data.bin": 2 * MiB + 5 });
  const manifest = await buildTransferManifest(from, ["data.bin"]);
  const source = new FsChunkSource(from);
  const peers: LoopbackPeers = loopbackPeers();
  cleanups.push(() => source.close(), () => peers.close());
  await Promise.all([peers.creator.connected, peers.provider.connected]);
  return { to, manifest, source, peers };
}

/** Error frames arriving on `channel`. */
function errorsOn(channel: Channel): ErrorFrame[] {
  const errors: ErrorFrame[] = [];
  channel.onMessage((message) => {
    if (typeof message !== "string") return;
    const parsed = parseControlFrame(message);
    if (parsed.ok && parsed.message.type === "error") errors.push(parsed.message);
  });
  return errors;
}

function dataFrame(file: number, chunk: number, offset: number, payload: number[], version = 1): Uint8Array {
  const frame = new Uint8Array(16 + payload.length);
  writeDataFrameHeader(frame, { file, chunk, offset });
  frame[0] = version;
  frame.set(payload, 16);
  return frame;
}

describe("error: malformed frames", () => {
  it("the sender refuses malformed requests with an error frame each and still serves a good receiver", async () => {
    const { to, manifest, source, peers } = await setUp();
    const refused: string[] = [];
    const sending = sendFiles(peers.provider, manifest, source, { onRefusedFrame: (reason) => refused.push(reason) });
    sending.catch(() => {});
    const rogue = peers.creator.channels()[0]!;
    const errors = errorsOn(rogue);
    rogue.sendText("not json");
    rogue.sendText(JSON.stringify({ v: 2, type: "request", file: 0, chunks: [0] }));
    rogue.sendText(JSON.stringify({ v: 1, type: "request", file: 0, chunks: [] }));
    rogue.sendText(JSON.stringify({ v: 1, type: "request", file: 7, chunks: [0] }));
    rogue.sendText(JSON.stringify({ v: 1, type: "request", file: 0, chunks: [1, 999] }));
    rogue.sendBinary(new Uint8Array([1, 2, 3]));
    await eventually(async () => errors.length >= 6, { what: "six error frames" });
    expect(errors.map((e) => e.code)).toEqual(["bad_frame", "bad_frame", "bad_frame", "unknown_chunk", "unknown_chunk", "bad_frame"]);
    expect(errors[0]!.message).toContain("not JSON");
    expect(errors[3]!.message).toContain("there is no file 7");
    expect(errors[4]!.message).toContain('"data.bin" has 3 chunk(s); there is no chunk 999');
    expect(refused).toHaveLength(6);

    await receiveFiles(peers.creator, manifest, new FsChunkSink(to));
    await sending;
    expect(await sha256OfFile(join(to, "data.bin"))).toBe(manifest.files[0]!.sha256);
  });

  it("the receiver refuses malformed frames from the sender's side and still completes", async () => {
    const { to, manifest, source, peers } = await setUp();
    // The sender's disk holds chunk 1 back until the junk has been answered, so the receiver is mid-transfer throughout.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const gated: ChunkSource = { read: async (file, offset, length) => (offset > 0 && (await released), source.read(file, offset, length)) };
    let firstRequest!: () => void;
    const requested = new Promise<void>((resolve) => (firstRequest = resolve));
    const sending = sendFiles(peers.provider, manifest, gated, { onRequest: () => firstRequest() });
    const refused: string[] = [];
    const receiving = receiveFiles(peers.creator, manifest, new FsChunkSink(to), { onRefusedFrame: (reason) => refused.push(reason) });
    // Awaited below; a failed expectation must not also leave them unhandled.
    for (const transfer of [sending, receiving]) transfer.catch(() => {});
    await requested;
    const rogue = peers.provider.channels()[0]!;
    const errors = errorsOn(rogue);
    rogue.sendText("{");
    rogue.sendText(JSON.stringify({ v: 1, type: "request", file: 0, chunks: [0] }));
    rogue.sendBinary(new Uint8Array(10));
    rogue.sendBinary(dataFrame(0, 1, 0, [1, 2, 3], 9));
    rogue.sendBinary(dataFrame(3, 0, 0, [1, 2, 3]));
    rogue.sendBinary(dataFrame(0, 1, 0, new Array(128 * 1024).fill(0)));
    await eventually(async () => errors.length >= 6, { what: "six error frames" });
    release();
    expect(errors.every((e) => e.code === "bad_frame")).toBe(true);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining("not JSON"),
      expect.stringContaining('"request" is for the sender'),
      expect.stringContaining("needs a 16-byte header and a payload"),
      expect.stringContaining("version 9"),
      expect.stringContaining("no chunk 0 of file 3"),
      expect.stringContaining("at most 65536 bytes"),
    ]);
    expect(refused).toHaveLength(6);
    await Promise.all([sending, receiving]);
    expect(await sha256OfFile(join(to, "data.bin"))).toBe(manifest.files[0]!.sha256);
  });

  it("a request sent before the other side listens is not lost", async () => {
    const { to, manifest, source, peers } = await setUp();
    const receiving = receiveFiles(peers.creator, manifest, new FsChunkSink(to), { idleTimeoutMs: 120_000 });
    receiving.catch(() => {});
    const arrival = peers.provider.channels()[0] as NodeChannel;
    await eventually(async () => arrival.waitingMessages() > 0, { what: "the request to arrive before anyone listens" });
    const [sent, received] = await Promise.all([sendFiles(peers.provider, manifest, source), receiving]);
    expect(received.bytes).toBe(2 * MiB + 5);
    expect(sent.bytes).toBe(received.bytes);
  });
});
