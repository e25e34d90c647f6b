import { describe, expect, it } from "vitest";
import {
  chunkCount,
  chunkLength,
  MAX_MESSAGE_BYTES,
  parseControlFrame,
  parseDataFrame,
  TransferManifest,
  writeDataFrameHeader,
} from "../../protocol/transfer.ts";

const MiB = 1024 * 1024;
const hash = (c: string) => c.repeat(64);
const file = (overrides: object = {}) => ({ path: "out/model.bin", size: 2 * MiB + 1, sha256: hash("a"), chunk_size: MiB, chunks: [hash("b"), hash("c"), hash("d")], ...overrides });

describe("TransferManifest", () => {
  it("accepts files with one sha256 per chunk, and empty files with none", () => {
    const parsed = TransferManifest.safeParse({ v: 1, files: [file(), file({ path: "empty", size: 0, chunks: [] })] });
    expect(parsed.success).toBe(true);
  });

  it("error: refuses a chunk list of the wrong length, chunk sizes outside 1-4 MiB, repeated or escaping paths", () => {
    const bad = [
      { v: 1, files: [file({ chunks: [hash("b"), hash("c")] })] },
      { v: 1, files: [file({ size: 0 })] },
      { v: 1, files: [file({ chunk_size: MiB - 1 })] },
      { v: 1, files: [file({ chunk_size: 4 * MiB + 1 })] },
      { v: 1, files: [file(), file()] },
      { v: 1, files: [file({ path: "../etc/passwd" })] },
      { v: 1, files: [file({ path: "/etc/passwd" })] },
      { v: 1, files: [file({ sha256: "A".repeat(64) })] },
      { v: 2, files: [] },
    ];
    for (const manifest of bad) expect(TransferManifest.safeParse(manifest).success, JSON.stringify(manifest).slice(0, 120)).toBe(false);
  });

  it("cuts files into chunks of chunk_size, the last one shorter", () => {
    expect(chunkCount(0, MiB)).toBe(0);
    expect(chunkCount(MiB, MiB)).toBe(1);
    expect(chunkCount(MiB + 1, MiB)).toBe(2);
    expect(chunkLength({ size: 2 * MiB + 1, chunk_size: MiB }, 1)).toBe(MiB);
    expect(chunkLength({ size: 2 * MiB + 1, chunk_size: MiB }, 2)).toBe(1);
  });
});

describe("data frames", () => {
  it("round-trip their header; the payload is a view of the frame", () => {
    const frame = new Uint8Array(MAX_MESSAGE_BYTES);
    writeDataFrameHeader(frame, { file: 70_000, chunk: 4_000_000_000, offset: 65_520 });
    frame[16] = 42;
    const parsed = parseDataFrame(frame);
    expect(parsed).toMatchObject({ ok: true, file: 70_000, chunk: 4_000_000_000, offset: 65_520 });
    if (parsed.ok) expect([parsed.payload.byteLength, parsed.payload[0], parsed.payload.buffer]).toEqual([MAX_MESSAGE_BYTES - 16, 42, frame.buffer]);
  });

  it("error: refuses frames without a payload, over 64 KiB, of another version or kind", () => {
    const withHeader = (size: number, version = 1, kind = 1) => {
      const frame = new Uint8Array(size);
      frame[0] = version;
      frame[1] = kind;
      return frame;
    };
    expect(parseDataFrame(withHeader(16))).toEqual({ ok: false, error: "a data frame needs a 16-byte header and a payload; got 16 bytes" });
    expect(parseDataFrame(withHeader(MAX_MESSAGE_BYTES + 1)).ok).toBe(false);
    expect(parseDataFrame(withHeader(100, 2))).toEqual({ ok: false, error: "data frame version 2 is not 1" });
    expect(parseDataFrame(withHeader(100, 1, 7))).toEqual({ ok: false, error: "data frame kind 7 is unknown" });
  });
});

describe("control frames", () => {
  it("parse requests, done and errors", () => {
    expect(parseControlFrame(JSON.stringify({ v: 1, type: "request", file: 0, chunks: [0, 5] })).ok).toBe(true);
    expect(parseControlFrame(JSON.stringify({ v: 1, type: "done" })).ok).toBe(true);
    expect(parseControlFrame(JSON.stringify({ v: 1, type: "error", code: "read_failed", message: "gone", file: 0, chunk: 1 })).ok).toBe(true);
  });

  it("error: refuse empty or oversized requests, negative or fractional indices", () => {
    for (const chunks of [[], [-1], [1.5], Array.from({ length: 4097 }, (_, i) => i)]) {
      expect(parseControlFrame(JSON.stringify({ v: 1, type: "request", file: 0, chunks })).ok).toBe(false);
    }
  });
});
