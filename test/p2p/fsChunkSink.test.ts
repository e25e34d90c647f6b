// The receiver's file system storage on a real folder: what survives a restart, and what is not trusted.
import { createHash, randomBytes } from "node:crypto";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsChunkSink, PARTIAL_SUFFIX, STATE_SUFFIX } from "../../p2p/node/fsChunkSink.ts";
import { pathInside } from "../../p2p/node/storagePath.ts";
import type { TransferFile } from "../../protocol/transfer.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const MiB = 1024 * 1024;
const tempDir = useTempDir("p2p-sink");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function describeBytes(path: string, bytes: Uint8Array, chunkSize = MiB): { file: TransferFile; chunk(i: number): Uint8Array } {
  const chunk = (i: number) => bytes.subarray(i * chunkSize, Math.min(bytes.byteLength, (i + 1) * chunkSize));
  const count = Math.ceil(bytes.byteLength / chunkSize);
  return { file: { path, size: bytes.byteLength, sha256: sha(bytes), chunk_size: chunkSize, chunks: Array.from({ length: count }, (_, i) => sha(chunk(i))) }, chunk };
}

describe("FsChunkSink", () => {
  it("keeps verified chunks across a restart and names only those", async () => {
    const { file, chunk } = describeBytes("d/data.bin", randomBytes(3 * MiB + 10));
    const first = new FsChunkSink(tempDir());
    expect([...(await first.prepareFile(file))]).toEqual([]);
    await first.writeChunk(file, 2, chunk(2));
    await first.writeChunk(file, 0, chunk(0));
    await first.close();
    const second = new FsChunkSink(tempDir());
    expect([...(await second.prepareFile(file))].sort()).toEqual([0, 2]);
    await second.writeChunk(file, 1, chunk(1));
    await second.writeChunk(file, 3, chunk(3));
    expect(await second.fileSha256(file)).toBe(file.sha256);
    await second.finishFile(file);
    expect(await readdir(join(tempDir(), "d"))).toEqual(["data.bin"]);
  });

  it("hashes the file while chunks arrive out of order, matching the bytes on disk", async () => {
    const { file, chunk } = describeBytes("data.bin", randomBytes(5 * MiB));
    const sink = new FsChunkSink(tempDir());
    await sink.prepareFile(file);
    for (const i of [1, 0, 3, 2, 4]) await sink.writeChunk(file, i, chunk(i));
    expect(await sink.fileSha256(file)).toBe(file.sha256);
    await sink.finishFile(file);
    expect(sha(await readFile(join(tempDir(), "data.bin")))).toBe(file.sha256);
  });

  it("does not trust a listed chunk whose bytes on disk changed, nor a state file written for another file", async () => {
    const { file, chunk } = describeBytes("data.bin", randomBytes(2 * MiB));
    const sink = new FsChunkSink(tempDir());
    await sink.prepareFile(file);
    await sink.writeChunk(file, 0, chunk(0));
    await sink.writeChunk(file, 1, chunk(1));
    await sink.close();
    const partial = join(tempDir(), `data.bin${PARTIAL_SUFFIX}`);
    const bytes = await readFile(partial);
    bytes[MiB + 7]! ^= 1;
    await writeFile(partial, bytes);
    const restarted = new FsChunkSink(tempDir());
    expect([...(await restarted.prepareFile(file))]).toEqual([0]);
    await restarted.close();

    const other = { ...file, sha256: "f".repeat(64) };
    const another = new FsChunkSink(tempDir());
    expect([...(await another.prepareFile(other))]).toEqual([]);
    await another.close();
  });

  it("recognises a file already complete at its path, and replaces one that differs", async () => {
    const { file } = describeBytes("done.bin", randomBytes(MiB + 1));
    const content = randomBytes(MiB + 1);
    const { file: same } = describeBytes("done.bin", content);
    await writeFile(join(tempDir(), "done.bin"), content);
    const sink = new FsChunkSink(tempDir());
    expect([...(await sink.prepareFile(same))]).toEqual([0, 1]);
    expect(await sink.fileSha256(same)).toBe(same.sha256);
    await sink.finishFile(same);
    expect(await readdir(tempDir())).toEqual(["done.bin"]);

    const replacing = new FsChunkSink(tempDir());
    expect([...(await replacing.prepareFile(file))]).toEqual([]);
    await replacing.close();
    expect((await readdir(tempDir())).sort()).toEqual(["done.bin", `done.bin${PARTIAL_SUFFIX}`, `done.bin${STATE_SUFFIX}`]);
  });

  it("error: never resolves a path outside its folder", () => {
    expect(() => pathInside("/srv/outputs", "../etc/passwd")).toThrow(/not a path inside/);
    expect(() => pathInside("/srv/outputs", "/etc/passwd")).toThrow(/not a path inside/);
    expect(pathInside("/srv/outputs", "a/b")).toBe("/srv/outputs/a/b");
  });

  it("writes nothing but state for an empty file until it is finished", async () => {
    const empty: TransferFile = { path: "empty", size: 0, sha256: sha(new Uint8Array()), chunk_size: MiB, chunks: [] };
    const sink = new FsChunkSink(tempDir());
    expect([...(await sink.prepareFile(empty))]).toEqual([]);
    expect(await sink.fileSha256(empty)).toBe(empty.sha256);
    await sink.finishFile(empty);
    expect(await readdir(tempDir())).toEqual(["empty"]);
  });
});
