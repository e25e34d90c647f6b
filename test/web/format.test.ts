// The dashboard's formatting of wei, durations, sizes and identifiers.
import { describe, expect, it } from "vitest";
import { formatBytes } from "../../protocol/byteSize.ts";
import { formatAgo, formatCheckpoint, formatDuration, formatGpuUsage, formatMb, formatTransfer, plural, shortHex } from "../../web/format/units.ts";
import { formatEth, formatWei } from "../../web/format/wei.ts";

describe("formatEth", () => {
  it("shows ETH exactly, trimmed and grouped", () => {
    expect(formatEth("0")).toBe("0 ETH");
    expect(formatEth("1000000000000000000")).toBe("1 ETH");
    expect(formatEth("1500000000000000000")).toBe("1.5 ETH");
    expect(formatEth(12_345_678_900_000_000_000_000n)).toBe("12,345.6789 ETH");
    // Past what a float holds: still exact.
    expect(formatEth("123456789012345678901234567890", 18)).toBe("123,456,789,012.34567890123456789 ETH");
  });

  it("says dust is less than the smallest shown digit instead of zero", () => {
    expect(formatEth("1")).toBe("< 0.0001 ETH");
    expect(formatEth("1", 6)).toBe("< 0.000001 ETH");
  });
});

describe("formatGpuUsage", () => {
  it("says how busy a GPU was, mean and peak, and its peak memory", () => {
    expect(formatGpuUsage({ utilization_pct: { mean: 87.46, max: 100 }, memory_used_mb: { max: 71_234 } })).toBe("87% busy (peak 100%) · 70 GiB peak memory");
    expect(formatGpuUsage({ utilization_pct: { mean: 0.4, max: 3 }, memory_used_mb: { max: 512 } })).toBe("0% busy (peak 3%) · 512 MiB peak memory");
  });
});

describe("formatCheckpoint", () => {
  it("says how much the latest holds, how long ago and in which attempt it was saved, or that there is none yet", () => {
    const now = Date.UTC(2026, 11, 7, 8, 0, 0);
    expect(formatCheckpoint(null, now)).toBe("none saved yet");
    expect(formatCheckpoint({ files: [{}, {}], bytes: 3 * 1024 * 1024, saved_at: now - 40_000, attempt: 1 }, now)).toBe("2 files, 3.0 MiB, saved 40 s ago in attempt 2");
  });
});

describe("formatTransfer", () => {
  it("says how much moved, by which route, in how long", () => {
    expect(formatTransfer(null)).toBe("—");
    expect(formatTransfer({ route: "direct", bytes: 1536, ms: 40 })).toBe(`${formatBytes(1536)} peer to peer in 40 ms`);
    expect(formatTransfer({ route: "turn", bytes: 0, ms: 1234 })).toBe(`${formatBytes(0)} peer to peer via TURN in 1.2 s`);
    expect(formatTransfer({ route: "relay", bytes: 10, ms: 5 })).toBe(`${formatBytes(10)} through Pond's storage in 5 ms`);
  });
});

describe("units", () => {
  it("formats durations in at most two units", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(1_234)).toBe("1.2 s");
    expect(formatDuration(42_000)).toBe("42 s");
    expect(formatDuration(245_000)).toBe("4 min 5 s");
    expect(formatDuration(7_380_000)).toBe("2 h 3 min");
  });

  it("says how long ago, falling back to the date", () => {
    const now = Date.parse("2026-11-20T12:00:00Z");
    expect(formatAgo("2026-11-20T11:59:58Z", now)).toBe("just now");
    expect(formatAgo("2026-11-20T11:59:18Z", now)).toBe("42 s ago");
    expect(formatAgo("2026-11-20T11:55:00Z", now)).toBe("5 min ago");
    expect(formatAgo("2026-11-20T09:00:00Z", now)).toBe("3 h ago");
    expect(formatAgo("2026-11-01T09:00:00Z", now)).toBe("2026-11-01");
  });

  it("formats sizes, addresses and counts", () => {
    expect(formatMb(512)).toBe("512 MiB");
    expect(formatMb(2_048)).toBe("2.0 GiB");
    expect(formatMb(81_559)).toBe("80 GiB");
    expect(formatBytes(17)).toBe("17 B");
    expect(formatBytes(5 * 1_024 * 1_024)).toBe("5.0 MiB");
    expect(shortHex("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")).toBe("0x7099…79c8");
    expect(shortHex("0x1234")).toBe("0x1234");
    expect(plural(1, "provider")).toBe("1 provider");
    expect(plural(10_000, "job")).toBe("10,000 jobs");
  });
});

describe("formatWei", () => {
  it("reads small amounts in gwei or wei, larger ones in ETH", () => {
    expect(formatWei("0")).toBe("0 ETH");
    expect(formatWei("250000000000000000")).toBe("0.25 ETH");
    expect(formatWei("500000000")).toBe("0.5 gwei");
    expect(formatWei("8123456789")).toBe("8.123 gwei");
    expect(formatWei("99999999999999")).toBe("99,999.999 gwei");
    expect(formatWei("42")).toBe("42 wei");
  });
});
