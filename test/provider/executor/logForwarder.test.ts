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

  it("stops after the total cap and says so", () => {
    const sent: string[] = [];
    const forwarder = new LogForwarder({ send: (d) => (sent.push(d), true), maxTotalBytes: 10, chunkBytes: 1000 });
    forwarder.push("0123456789");
    forwarder.push("more");
    forwarder.push("and more");
    forwarder.flush();
    expect(sent.join("")).toBe("0123456789\n[pond: output truncated after 10 bytes]\n");
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
