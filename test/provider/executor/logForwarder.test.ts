import { describe, expect, it } from "vitest";
import { LogForwarder } from "../../../provider/executor/logForwarder.ts";

describe("LogForwarder", () => {
  it("batches small writes into one message", async () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), flushMs: 20 });
    forwarder.push("a\n");
    forwarder.push("b\n");
    expect(sent).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sent).toEqual(["a\nb\n"]);
  });

  it("flushes at once when a chunk fills up", () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), chunkBytes: 4 });
    forwarder.push("12");
    expect(sent).toEqual([]);
    forwarder.push("3456789");
    expect(sent).toEqual(["1234", "5678", "9"]);
  });

  it("past the cap keeps the head and the newest tail, with the marker between, sent when the job ends", () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), maxTotalBytes: 10, tailBytes: 8, chunkBytes: 1000 });
    forwarder.push("0123456789");
    forwarder.push("middle that is dropped;");
    forwarder.push("the end\n");
    forwarder.flush();
    // Nothing past the head goes out live.
    expect(sent.join("")).toBe("0123456789");
    forwarder.finish();
    expect(sent.join("")).toBe("0123456789\n[pond: output truncated after 10 bytes; 23 bytes skipped, the last 8 follow]\nthe end\n");
  });

  it("cuts the head inside a chunk, and keeps the rest of that chunk for the tail", () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), maxTotalBytes: 4, tailBytes: 100, chunkBytes: 1000 });
    forwarder.push("abcdefgh\n");
    forwarder.finish();
    expect(sent.join("")).toBe("abcd\n[pond: output truncated after 4 bytes]\nefgh\n");
  });

  it("sends nothing after the end", () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), chunkBytes: 1 });
    forwarder.push("a");
    forwarder.finish();
    forwarder.push("late");
    forwarder.finish();
    expect(sent).toEqual(["a"]);
  });

  it("reports the cursor of the last chunk sent whole, with the bytes forwarded so far", () => {
    // The first piece goes out, the second finds the connection down.
    const answers = [true, false];
    const sent: string[] = [];
    const cursors: Array<[string, number]> = [];
    const send = (d: string) => (answers.shift() ?? true) && (sent.push(d), true);
    const forwarder = new LogForwarder({ send, onForwarded: (c, n) => cursors.push([c, n]), chunkBytes: 4 });
    forwarder.push("ab", "t1");
    forwarder.push("cdef", "t2");
    expect(sent).toEqual(["abcd"]);
    expect(cursors).toEqual([["t1", 4]]);
    forwarder.finish();
    expect(sent).toEqual(["abcd", "ef"]);
    expect(cursors).toEqual([["t1", 4], ["t2", 6]]);
  });

  it("counts what an earlier daemon forwarded against the cap", () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), maxTotalBytes: 10, alreadyForwarded: 8, chunkBytes: 1000 });
    forwarder.push("xyz!");
    forwarder.finish();
    expect(sent.join("")).toBe("xy\n[pond: output truncated after 10 bytes]\nz!");
  });

  it("keeps the newest output while disconnected, and sends it when back", () => {
    let connected = false;
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => connected && (sent.push(d), true), maxBacklogBytes: 5, chunkBytes: 1000 });
    forwarder.push("old-old-");
    forwarder.flush();
    // Only the newest 5 characters of the backlog survive the failed flush.
    forwarder.push("new");
    connected = true;
    forwarder.flush();
    expect(sent.join("")).toBe("-old-new");
  });
});
