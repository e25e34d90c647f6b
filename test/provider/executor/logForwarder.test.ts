// The daemon's log forwarder: batches, a budget per job, the newest output kept
// whole. The clock is Vitest's (fake timers), so a flood of many seconds runs in
// no time and the budget's arithmetic is exact.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LogForwarder } from "../../../provider/executor/logForwarder.ts";
import { logLimits } from "../../../protocol/limits.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A note of dropped output opens the message that follows the gap (on a line of its own). */
const NOTICE = /^\n?\[pond: [^\]]* of output dropped \((\d+) bytes\)\]\n/;
const droppedIn = (messages: string[]) => messages.reduce((sum, message) => sum + Number(NOTICE.exec(message)?.[1] ?? 0), 0);
const withoutNotices = (messages: string[]) => messages.map((message) => message.replace(NOTICE, "")).join("");

function recorder() {
  const sent: string[] = [];
  return { sent, send: (data: string) => (sent.push(data), true), all: () => sent.join("") };
}

describe("LogForwarder", () => {
  it("batches small writes into one message", () => {
    const hub = recorder();
    const forwarder = new LogForwarder({ send: hub.send, flushMs: 20 });
    forwarder.push("a\n");
    forwarder.push("b\n");
    expect(hub.sent).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(hub.sent).toEqual(["a\nb\n"]);
  });

  it("sends at once when a chunk fills up, within the burst", () => {
    const hub = recorder();
    const forwarder = new LogForwarder({ send: hub.send, chunkBytes: 4 });
    forwarder.push("12");
    expect(hub.sent).toEqual([]);
    forwarder.push("3456789");
    expect(hub.sent).toEqual(["1234", "5678", "9"]);
  });

  it("under a 500 MB flood forwards within its budget, sends the log's end exactly, and says how much it dropped", () => {
    const hub = recorder();
    const forwarder = new LogForwarder({ send: hub.send });
    const block = Array.from({ length: 16_384 }, (_, i) => `flood line ${String(i).padStart(6, "0")} ${"x".repeat(45)}\n`).join("");
    expect(block.length).toBe(1024 * 1024);
    const ending = Array.from({ length: 2_000 }, (_, i) => `end ${i}\n`).join("");
    // 500 MiB over ten seconds: a 1 MiB write every 20 ms.
    const floodMs = 10_000;
    for (let i = 0; i < 500; i++) {
      forwarder.push(block, `t${i}`);
      vi.advanceTimersByTime(floodMs / 500);
    }
    const duringFlood = withoutNotices(hub.sent).length;
    expect(duringFlood).toBeLessThanOrEqual(logLimits.forwardBurstBytes + (logLimits.forwardBytesPerSecond * floodMs) / 1000);
    // Messages are whole chunks, never more than the hub takes.
    expect(Math.max(...hub.sent.map((m) => m.length))).toBeLessThanOrEqual(logLimits.messageChars);
    forwarder.push(ending, "t-end");
    forwarder.finish();

    const all = hub.all();
    const printed = 500 * block.length + ending.length;
    // What was sent and what was said to be dropped add up to what was printed: nothing twice, nothing lost unsaid.
    expect(withoutNotices(hub.sent).length + droppedIn(hub.sent)).toBe(printed);
    expect(droppedIn(hub.sent)).toBeGreaterThan(490 * 1024 * 1024);
    // The log's end, far more than the tail kept on the job, arrives exactly as printed.
    const expectedEnd = (block + ending).slice(-logLimits.forwarderTailBytes);
    expect(all.endsWith(expectedEnd)).toBe(true);
    expect(logLimits.forwarderTailBytes).toBeGreaterThan(logLimits.storedTailBytes);
    expect(all.slice(-logLimits.forwarderTailBytes)).not.toContain("[pond:");
  });

  it("sends nothing after the end", () => {
    const hub = recorder();
    const forwarder = new LogForwarder({ send: hub.send, chunkBytes: 1 });
    forwarder.push("a");
    forwarder.finish();
    forwarder.push("late");
    forwarder.finish();
    vi.advanceTimersByTime(1_000);
    expect(hub.sent).toEqual(["a"]);
  });

  it("reports the cursor of the newest entry once the piece that carries it has gone whole, with the bytes forwarded so far", () => {
    // The first two pieces go out, the third finds the connection down.
    const answers = [true, true, false];
    const sent: string[] = [];
    const cursors: Array<[string, number]> = [];
    const send = (d: string) => (answers.shift() ?? true) && (sent.push(d), true);
    const forwarder = new LogForwarder({ send, onForwarded: (c, n) => cursors.push([c, n]), chunkBytes: 1000 });
    forwarder.push("a".repeat(1500), "t1");
    expect(sent.join("")).toBe("a".repeat(1500));
    expect(cursors).toEqual([["t1", 1500]]);
    forwarder.push("b".repeat(1500), "t2");
    expect(cursors).toEqual([["t1", 1500]]);
    forwarder.finish();
    expect(sent.join("")).toBe("a".repeat(1500) + "b".repeat(1500));
    expect(cursors).toEqual([
      ["t1", 1500],
      ["t2", 3000],
    ]);
  });

  it("counts dropped entries as dealt with: the next piece sent reports their cursor when it carries none", () => {
    const hub = recorder();
    const cursors: string[] = [];
    const forwarder = new LogForwarder({ send: hub.send, onForwarded: (c) => cursors.push(c), tailBytes: 2000, chunkBytes: 10_000, burstBytes: 0, bytesPerSecond: 1 });
    forwarder.push("a".repeat(1500), "t1");
    forwarder.push("b".repeat(1500));
    forwarder.push("c".repeat(1500));
    forwarder.finish();
    // All of "a…", the entry with cursor t1, went; what was sent carried no cursor of its own.
    expect(hub.all()).toBe(`[pond: 2.4 KiB of output dropped (2500 bytes)]\n${"b".repeat(500)}${"c".repeat(1500)}`);
    expect(cursors).toEqual(["t1"]);
  });

  it("keeps the newest output while disconnected, and sends it when back with a note of what it dropped", () => {
    let connected = false;
    const hub = recorder();
    const forwarder = new LogForwarder({ send: (d) => connected && hub.send(d), tailBytes: 5, chunkBytes: 1000 });
    forwarder.push("old-old-\n");
    vi.advanceTimersByTime(250);
    forwarder.push("new");
    connected = true;
    vi.advanceTimersByTime(250);
    expect(hub.all()).toBe("[pond: 7 B of output dropped (7 bytes)]\n-\nnew");
  });

  it("sends what it held when the job ended once the connection is back", () => {
    let connected = false;
    const hub = recorder();
    const forwarder = new LogForwarder({ send: (d) => connected && hub.send(d) });
    forwarder.push("the last line\n");
    forwarder.finish();
    vi.advanceTimersByTime(1_000);
    expect(hub.sent).toEqual([]);
    connected = true;
    vi.advanceTimersByTime(250);
    expect(hub.all()).toBe("the last line\n");
  });

  it("gives up output held past the end when the connection stays away", () => {
    let connected = false;
    const hub = recorder();
    const forwarder = new LogForwarder({ send: (d) => connected && hub.send(d), finishedRetryMs: 1_000 });
    forwarder.push("lost\n");
    forwarder.finish();
    vi.advanceTimersByTime(1_500);
    connected = true;
    vi.advanceTimersByTime(1_000);
    expect(hub.sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("never splits a character made of two UTF-16 units when it drops the oldest output", () => {
    const hub = recorder();
    const forwarder = new LogForwarder({ send: hub.send, tailBytes: 3, chunkBytes: 1000, burstBytes: 0, bytesPerSecond: 1 });
    // "a😀b😀": cutting to the last 3 units would start inside the first emoji's pair.
    forwarder.push("a😀b😀");
    forwarder.finish();
    expect(hub.all()).toBe("[pond: 5 B of output dropped (5 bytes)]\nb😀");
  });
});
