// A stored file as a download clients can revalidate and resume: a strong ETag
// from its sha256 (the content, so it never names other bytes), 304 for
// If-None-Match, `Accept-Ranges: bytes`, 206 for one range, 416 for one past
// the end. `curl -C -` and browsers' resumed downloads then pick up where they stopped.
import { ApiError, notFound } from "../errors/problem.ts";
import { noneMatchHolds, rangeOf, rangeStillApplies } from "./byteRanges.ts";

export interface StoredFile {
  /** The R2 key of its bytes. */
  key: string;
  sha256: string;
  size: number;
  /** The name a browser saves it under. */
  filename: string;
  /** What the 404 calls it when its bytes are not stored. */
  description: string;
}

export async function serveStoredFile(request: Request, bucket: R2Bucket, file: StoredFile): Promise<Response> {
  const etag = `"${file.sha256}"`;
  const headers = new Headers({
    etag,
    "accept-ranges": "bytes",
    "x-pond-sha256": file.sha256,
    "content-disposition": `attachment; filename="${file.filename.replace(/["\\\r\n]/g, "_")}"`,
  });
  // The client's copy has this sha256: it is these bytes, so nothing is read.
  if (noneMatchHolds(request.headers.get("if-none-match") ?? undefined, etag)) return new Response(null, { status: 304, headers });

  const range = rangeStillApplies(request.headers.get("if-range") ?? undefined, etag) ? rangeOf(request.headers.get("range") ?? undefined, file.size) : { kind: "whole" as const };
  if (range.kind === "unsatisfiable") {
    throw new ApiError(416, "range-not-satisfiable", "Range not satisfiable", `the file is ${file.size} bytes: ask for a range that starts before its end`, undefined, {
      "content-range": `bytes */${file.size}`,
    });
  }
  const object = await bucket.get(file.key, range.kind === "part" ? { range: { offset: range.offset, length: range.length } } : {});
  if (!object) throw notFound(file.description);
  headers.set("content-type", "application/octet-stream");
  if (range.kind === "whole") {
    headers.set("content-length", String(object.size));
    return new Response(object.body, { headers });
  }
  headers.set("content-length", String(range.length));
  headers.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${file.size}`);
  return new Response(object.body, { status: 206, headers });
}
