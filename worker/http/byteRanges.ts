// The request headers a resumable download answers to (RFC 9110 §13, §14):
// If-None-Match against the file's ETag, and one byte range, honoured only if
// If-Range (when sent) still names this file. Pure: the route does the I/O.

/** What to send of a file of `size` bytes. */
export type RangeAnswer =
  | { kind: "whole" }
  | { kind: "part"; offset: number; length: number }
  | { kind: "unsatisfiable" };

const RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * The one range asked for, as RFC 9110 §14.1.2 reads `bytes=first-last`, `bytes=first-` and
 * `bytes=-suffix`. Anything else (another unit, several ranges, a malformed header) is ignored
 * and the whole file sent, as §14.2 allows; an empty file is always sent whole.
 */
export function rangeOf(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined || size === 0) return { kind: "whole" };
  const match = RANGE.exec(header.replace(/\s+/g, ""));
  if (!match) return { kind: "whole" };
  const [, first, last] = match;
  if (first === "" && last === "") return { kind: "whole" };
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0) return { kind: "unsatisfiable" };
    const length = Math.min(suffix, size);
    return { kind: "part", offset: size - length, length };
  }
  const offset = Number(first);
  if (last !== "" && Number(last) < offset) return { kind: "whole" };
  if (offset >= size) return { kind: "unsatisfiable" };
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: "part", offset, length: end - offset + 1 };
}

const opaqueTag = (tag: string) => tag.trim().replace(/^W\//, "");

/** If-None-Match (weak comparison, §13.1.2): does the client hold this very file already? */
export function noneMatchHolds(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => opaqueTag(tag) === opaqueTag(etag));
}

/** If-Range (§13.1.5): a range is honoured only when the validator is this strong ETag; a date never matches (there is no Last-Modified). */
export function rangeStillApplies(header: string | undefined, etag: string): boolean {
  return header === undefined || header.trim() === etag;
}
