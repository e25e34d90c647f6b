// Many small outputs in one signed upload. A job that leaves thousands of small
// files (samples, shards, per-example predictions) would otherwise pay a
// signature, a request and a signature check per file. The body: a 4-byte
// big-endian length, the listing (JSON: path, size, sha256 per file), then the
// files' bytes in the listing's order. One EIP-191 signature covers the whole
// body's sha256, so it covers every file and its place.
import { z } from "zod";
import { RelativePath } from "./jobSpec.ts";

/** Files at most this big go in batches; bigger ones are uploaded on their own. */
export const BATCH_FILE_MAX_BYTES = 256 * 1024;
/** At most this many files per batch: with the API's other calls, well within a Worker request's 1,000 subrequests. */
export const BATCH_MAX_FILES = 256;
/** The files' bytes in one batch, together. */
export const BATCH_MAX_CONTENT_BYTES = 4 * 1024 * 1024;
/** The listing's own bytes: BATCH_MAX_FILES entries of the longest paths fit. */
export const BATCH_MAX_LISTING_BYTES = 256 * 1024;
/** A batch body is never longer than this. */
export const BATCH_MAX_BODY_BYTES = 4 + BATCH_MAX_LISTING_BYTES + BATCH_MAX_CONTENT_BYTES;

export const BatchEntry = z.strictObject({
  path: RelativePath,
  size: z.number().int().min(0).max(BATCH_FILE_MAX_BYTES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
});
export type BatchEntry = z.infer<typeof BatchEntry>;

export const BatchListing = z
  .array(BatchEntry)
  .min(1)
  .max(BATCH_MAX_FILES)
  .refine((entries) => new Set(entries.map((entry) => entry.path)).size === entries.length, "names a path twice")
  .refine((entries) => entries.reduce((sum, entry) => sum + entry.size, 0) <= BATCH_MAX_CONTENT_BYTES, `holds more than ${BATCH_MAX_CONTENT_BYTES} bytes of files`);

/** The text a provider signs for one batch of a job's outputs. */
export function outputBatchMessage(claim: { jobId: string; sha256: string; size: number; timestamp: number }): string {
  return `Pond output batch\njob: ${claim.jobId}\nsha256: ${claim.sha256}\nsize: ${claim.size}\ntimestamp: ${claim.timestamp}`;
}

/** A batch's body from its files, in this order. */
export function encodeOutputBatch(files: ReadonlyArray<BatchEntry & { bytes: Uint8Array }>): Uint8Array<ArrayBuffer> {
  const listing = new TextEncoder().encode(JSON.stringify(files.map(({ path, size, sha256 }) => ({ path, size, sha256 }))));
  const body = new Uint8Array(4 + listing.length + files.reduce((sum, file) => sum + file.bytes.length, 0));
  new DataView(body.buffer).setUint32(0, listing.length);
  body.set(listing, 4);
  let at = 4 + listing.length;
  for (const file of files) {
    body.set(file.bytes, at);
    at += file.bytes.length;
  }
  return body;
}

export type DecodedBatch = { ok: true; files: Array<BatchEntry & { bytes: Uint8Array }> } | { ok: false; reason: string };

/** A batch body's files, or what is wrong with it (the sha256s are the caller's to check). */
export function decodeOutputBatch(body: Uint8Array): DecodedBatch {
  if (body.length < 4) return { ok: false, reason: "the batch is shorter than its 4-byte listing length" };
  const listingLength = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  if (listingLength > BATCH_MAX_LISTING_BYTES) return { ok: false, reason: `the batch's listing is over ${BATCH_MAX_LISTING_BYTES} bytes` };
  if (4 + listingLength > body.length) return { ok: false, reason: "the batch ends inside its listing" };
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body.subarray(4, 4 + listingLength)));
  } catch {
    return { ok: false, reason: "the batch's listing is not JSON" };
  }
  const listing = BatchListing.safeParse(raw);
  if (!listing.success) {
    const issue = listing.error.issues[0]!;
    return { ok: false, reason: `the batch's listing ${issue.path.length > 0 ? `at ${issue.path.join(".")} ` : ""}${issue.message}` };
  }
  const contentLength = listing.data.reduce((sum, entry) => sum + entry.size, 0);
  if (4 + listingLength + contentLength !== body.length) {
    return { ok: false, reason: `the batch's listing names ${contentLength} bytes of files, and the body carries ${body.length - 4 - listingLength}` };
  }
  let at = 4 + listingLength;
  const files = listing.data.map((entry) => {
    const bytes = body.subarray(at, at + entry.size);
    at += entry.size;
    return { ...entry, bytes };
  });
  return { ok: true, files };
}
