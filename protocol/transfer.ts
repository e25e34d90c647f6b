// Pond's file transfer protocol over WebRTC data channels.
//
// The receiver holds a manifest from a trusted source (the signed job spec, the
// provider's signed result): every file's size and sha256, cut into chunks of
// `chunk_size` bytes, each with its own sha256. It asks the sender for the
// chunks it lacks with JSON "request" frames; the sender answers with binary
// data frames of at most 64 KiB, a chunk's frames in order on one channel. A
// chunk is written only once its sha256 matches, so a transfer cut at any point
// resumes by asking for what is still missing.
import { z } from "zod";
import { RelativePath } from "./jobSpec.ts";
import { parseJsonFrame, type ParsedFrame } from "./jsonFrame.ts";
import { MAX_OUTPUT_FILES } from "./limits.ts";
import { Sha256Hex } from "./manifest.ts";

export const TRANSFER_PROTOCOL_VERSION = 1;

const MiB = 1024 * 1024;
export const MIN_CHUNK_SIZE = 1 * MiB;
export const MAX_CHUNK_SIZE = 4 * MiB;
export const DEFAULT_CHUNK_SIZE = 1 * MiB;
/** Every data-channel message stays within 64 KiB, which every WebRTC stack delivers whole. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
export const MAX_TRANSFER_FILES = MAX_OUTPUT_FILES;
/** Bounds one request frame (~7 bytes a chunk index in JSON, so under 64 KiB). */
export const MAX_CHUNKS_PER_REQUEST = 4096;
/** 4 TiB at the smallest chunk size: a bound on the manifest, not a product limit. */
const MAX_CHUNKS_PER_FILE = 4 * 1024 * 1024;

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Length of chunk `index` of a file: `chunk_size`, except the last one. */
export function chunkLength(file: { size: number; chunk_size: number }, index: number): number {
  return Math.min(file.chunk_size, file.size - index * file.chunk_size);
}

// ---- the manifest ----

export const TransferFile = z
  .object({
    path: RelativePath,
    size: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
    sha256: Sha256Hex,
    chunk_size: z.int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE),
    /** sha256 of every chunk, in order; none for an empty file. */
    chunks: z.array(Sha256Hex).max(MAX_CHUNKS_PER_FILE),
  })
  .refine((file) => file.chunks.length === chunkCount(file.size, file.chunk_size), {
    message: "must list one sha256 per chunk: ceil(size / chunk_size) of them",
    path: ["chunks"],
  });
export type TransferFile = z.infer<typeof TransferFile>;

export const TransferManifest = z
  .object({
    v: z.literal(TRANSFER_PROTOCOL_VERSION),
    files: z.array(TransferFile).max(MAX_TRANSFER_FILES),
  })
  .refine((manifest) => new Set(manifest.files.map((file) => file.path)).size === manifest.files.length, {
    message: "must not repeat a path",
    path: ["files"],
  });
export type TransferManifest = z.infer<typeof TransferManifest>;

export function manifestBytes(manifest: TransferManifest): number {
  return manifest.files.reduce((sum, file) => sum + file.size, 0);
}

// ---- control frames (JSON text messages) ----

const v = z.literal(TRANSFER_PROTOCOL_VERSION);
const index = z.int().min(0).max(0xffff_ffff);

/** Receiver → sender: send these chunks of the manifest's file number `file`. */
export const RequestFrame = z.object({
  v,
  type: z.literal("request"),
  file: index,
  chunks: z.array(index).min(1).max(MAX_CHUNKS_PER_REQUEST),
});
/**
 * Receiver → sender: every file arrived and verified; the sender may stop.
 * Sender → receiver, in reply: acknowledged (so the receiver's caller can close the connection without cutting it off).
 */
export const DoneFrame = z.object({ v, type: z.literal("done") });
export const TransferErrorCode = z.enum([
  /** A frame did not parse; the frame was ignored. */
  "bad_frame",
  /** A request named a file or chunk outside the manifest. */
  "unknown_chunk",
  /** The sender could not read a chunk from its storage. */
  "read_failed",
]);
export type TransferErrorCode = z.infer<typeof TransferErrorCode>;
/** Either way: something the other side sent was refused; the transfer goes on. */
export const ErrorFrame = z.object({
  v,
  type: z.literal("error"),
  code: TransferErrorCode,
  message: z.string().max(500),
  /** The chunk the error is about, when there is one. */
  file: index.optional(),
  chunk: index.optional(),
});

export const ControlFrame = z.discriminatedUnion("type", [RequestFrame, DoneFrame, ErrorFrame]);
export type ControlFrame = z.infer<typeof ControlFrame>;
export type RequestFrame = z.infer<typeof RequestFrame>;
export type ErrorFrame = z.infer<typeof ErrorFrame>;

export function parseControlFrame(raw: string): ParsedFrame<ControlFrame> {
  return parseJsonFrame(ControlFrame, raw, `transfer v${TRANSFER_PROTOCOL_VERSION} control`);
}

// ---- data frames (binary messages) ----
//
//   offset  size  field
//   0       1     version (1)
//   1       1     kind (1 = chunk data)
//   2       2     reserved, 0
//   4       4     file index in the manifest (u32, big-endian)
//   8       4     chunk index in the file (u32, big-endian)
//   12      4     byte offset of the payload within the chunk (u32, big-endian)
//   16      ...   payload, 1 to MAX_DATA_PAYLOAD bytes

export const DATA_FRAME_KIND_CHUNK = 1;
export const DATA_HEADER_BYTES = 16;
export const MAX_DATA_PAYLOAD = MAX_MESSAGE_BYTES - DATA_HEADER_BYTES;

export interface DataFrameHeader {
  file: number;
  chunk: number;
  offset: number;
}

/** Writes a header into the first DATA_HEADER_BYTES of `frame`; the caller puts the payload after it. */
export function writeDataFrameHeader(frame: Uint8Array, header: DataFrameHeader): void {
  const view = new DataView(frame.buffer, frame.byteOffset, DATA_HEADER_BYTES);
  view.setUint8(0, TRANSFER_PROTOCOL_VERSION);
  view.setUint8(1, DATA_FRAME_KIND_CHUNK);
  view.setUint16(2, 0);
  view.setUint32(4, header.file);
  view.setUint32(8, header.chunk);
  view.setUint32(12, header.offset);
}

export type ParsedDataFrame = ({ ok: true; payload: Uint8Array } & DataFrameHeader) | { ok: false; error: string };

/** Reads a data frame; the payload is a view into `frame`, not a copy. */
export function parseDataFrame(frame: Uint8Array): ParsedDataFrame {
  if (frame.byteLength <= DATA_HEADER_BYTES) return { ok: false, error: `a data frame needs a ${DATA_HEADER_BYTES}-byte header and a payload; got ${frame.byteLength} bytes` };
  if (frame.byteLength > MAX_MESSAGE_BYTES) return { ok: false, error: `a data frame is at most ${MAX_MESSAGE_BYTES} bytes; got ${frame.byteLength}` };
  const view = new DataView(frame.buffer, frame.byteOffset, DATA_HEADER_BYTES);
  if (view.getUint8(0) !== TRANSFER_PROTOCOL_VERSION) return { ok: false, error: `data frame version ${view.getUint8(0)} is not ${TRANSFER_PROTOCOL_VERSION}` };
  if (view.getUint8(1) !== DATA_FRAME_KIND_CHUNK) return { ok: false, error: `data frame kind ${view.getUint8(1)} is unknown` };
  return {
    ok: true,
    file: view.getUint32(4),
    chunk: view.getUint32(8),
    offset: view.getUint32(12),
    payload: frame.subarray(DATA_HEADER_BYTES),
  };
}

// ---- the manifest, sent by the sender before the transfer ----
//
// The receiver trusts only a file's path, size and sha256 (from the signed spec
// or the signed result); the chunk list comes from the sender, in parts of
// MANIFEST_PART_CHARS, on one channel, first thing once it opens. A lying chunk
// list only fails the whole-file sha256 check.

/** The manifest's JSON is ASCII (RelativePath allows no other characters), so this many characters fit one message with room for the frame. */
export const MANIFEST_PART_CHARS = 60_000;
/** 10,000 files × a few KiB of chunk hashes: a bound on what a receiver buffers, not a product limit. */
export const MAX_MANIFEST_PARTS = 4096;

export const ManifestPartFrame = z.object({
  v,
  type: z.literal("manifest"),
  part: z.int().min(0).max(MAX_MANIFEST_PARTS - 1),
  parts: z.int().min(1).max(MAX_MANIFEST_PARTS),
  data: z.string().max(MANIFEST_PART_CHARS),
});
export type ManifestPartFrame = z.infer<typeof ManifestPartFrame>;

export function parseManifestPart(raw: string): ParsedFrame<ManifestPartFrame> {
  return parseJsonFrame(ManifestPartFrame, raw, `transfer v${TRANSFER_PROTOCOL_VERSION} manifest`);
}
