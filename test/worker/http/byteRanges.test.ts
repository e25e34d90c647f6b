import { describe, expect, it } from "vitest";
import { noneMatchHolds, rangeOf, rangeStillApplies } from "../../../worker/http/byteRanges.ts";

describe("rangeOf", () => {
  it("reads the three forms of one byte range (RFC 9110 §14.1.2)", () => {
    expect(rangeOf("bytes=0-99", 1000)).toEqual({ kind: "part", offset: 0, length: 100 });
    expect(rangeOf("bytes=900-", 1000)).toEqual({ kind: "part", offset: 900, length: 100 });
    expect(rangeOf("bytes=-100", 1000)).toEqual({ kind: "part", offset: 900, length: 100 });
    expect(rangeOf("bytes = 10 - 19", 1000)).toEqual({ kind: "part", offset: 10, length: 10 });
  });

  it("clips a range that runs past the end, and a suffix longer than the file", () => {
    expect(rangeOf("bytes=990-5000", 1000)).toEqual({ kind: "part", offset: 990, length: 10 });
    expect(rangeOf("bytes=-5000", 1000)).toEqual({ kind: "part", offset: 0, length: 1000 });
  });

  it("calls a range that starts at or past the end, or an empty suffix, unsatisfiable", () => {
    expect(rangeOf("bytes=1000-", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(rangeOf("bytes=2000-3000", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(rangeOf("bytes=-0", 1000)).toEqual({ kind: "unsatisfiable" });
  });

  it("sends the whole file for no range, another unit, several ranges, a malformed or backwards one, or an empty file", () => {
    for (const header of [undefined, "items=0-1", "bytes=0-1,5-9", "bytes=abc", "bytes=-", "bytes=20-10"]) expect(rangeOf(header, 1000), String(header)).toEqual({ kind: "whole" });
    expect(rangeOf("bytes=0-", 0)).toEqual({ kind: "whole" });
  });
});

describe("conditional headers", () => {
  const etag = `"${"ab".repeat(32)}"`;

  it("If-None-Match holds for the ETag, weakly compared, in a list, or *", () => {
    expect(noneMatchHolds(etag, etag)).toBe(true);
    expect(noneMatchHolds(`W/${etag}`, etag)).toBe(true);
    expect(noneMatchHolds(`"x", ${etag}`, etag)).toBe(true);
    expect(noneMatchHolds("*", etag)).toBe(true);
    expect(noneMatchHolds(`"x"`, etag)).toBe(false);
    expect(noneMatchHolds(undefined, etag)).toBe(false);
  });

  it("If-Range lets the range apply only for this strong ETag", () => {
    expect(rangeStillApplies(undefined, etag)).toBe(true);
    expect(rangeStillApplies(etag, etag)).toBe(true);
    expect(rangeStillApplies(`W/${etag}`, etag)).toBe(false);
    expect(rangeStillApplies("Sat, 05 Dec 2026 10:00:00 GMT", etag)).toBe(false);
  });
});
