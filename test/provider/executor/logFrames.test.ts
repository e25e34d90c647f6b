import { describe, expect, it } from "vitest";
import { cursorNanos, isAfter, LogFrameParser, sinceParameter } from "../../../provider/executor/logFrames.ts";

const frame = (stream: number, payload: string | Buffer) => {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
};

describe("LogFrameParser", () => {
  it("splits entries from their timestamps, across frames cut anywhere", () => {
    const bytes = Buffer.concat([frame(1, "2026-12-02T12:24:16.627690384Z line 1\n"), frame(2, "2026-12-02T12:24:16.956355080Z err 1\n")]);
    const parser = new LogFrameParser();
    const entries = [...parser.push(bytes.subarray(0, 11)), ...parser.push(bytes.subarray(11, 50)), ...parser.push(bytes.subarray(50))];
    expect(entries).toEqual([
      { text: "line 1\n", cursor: "2026-12-02T12:24:16.627690384Z" },
      { text: "err 1\n", cursor: "2026-12-02T12:24:16.956355080Z" },
    ]);
  });

  it("joins a character split across two entries of one stream", () => {
    const euro = Buffer.from("€");
    const parser = new LogFrameParser();
    const first = parser.push(frame(1, Buffer.concat([Buffer.from("2026-01-01T00:00:00.000000001Z a"), euro.subarray(0, 1)])));
    const second = parser.push(frame(1, Buffer.concat([Buffer.from("2026-01-01T00:00:00.000000002Z "), euro.subarray(1), Buffer.from("b")])));
    expect(first.map((e) => e.text).join("") + second.map((e) => e.text).join("")).toBe("a€b");
  });

  it("skips a payload with no timestamp", () => {
    expect(new LogFrameParser().push(frame(1, "no timestamp here"))).toEqual([]);
  });
});

describe("cursors", () => {
  it("order by nanoseconds, not by text", () => {
    expect(isAfter("2026-12-02T12:24:16.000000002Z", "2026-12-02T12:24:16.000000001Z")).toBe(true);
    expect(isAfter("2026-12-02T12:24:16.5Z", "2026-12-02T12:24:16.499999999Z")).toBe(true);
    expect(isAfter("2026-12-02T12:24:16.000000001Z", "2026-12-02T12:24:16.000000001Z")).toBe(false);
    expect(isAfter("anything", undefined)).toBe(true);
    // A cursor that does not parse loses nothing: everything is forwarded again.
    expect(isAfter("2026-12-02T12:24:16.000000001Z", "garbage")).toBe(true);
    expect(cursorNanos("2026-12-02T14:24:16.1+02:00")).toBe(cursorNanos("2026-12-02T12:24:16.100000000Z"));
  });

  it("become Docker's `since` as seconds and nanoseconds", () => {
    expect(sinceParameter("2026-12-02T12:24:16.956355080Z")).toBe("1796214256.956355080");
  });
});
