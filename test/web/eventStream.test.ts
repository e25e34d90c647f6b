// Server-sent events as the dashboard reads them from a fetch body.
import { describe, expect, it } from "vitest";
import { EventStreamParser, readEventStream, type ServerSentEvent } from "../../web/api/eventStream.ts";

describe("EventStreamParser", () => {
  it("parses events split anywhere across chunks", () => {
    const stream = 'id: 1\nevent: log\ndata: {"data":"a\\n"}\n\n: keep-alive\n\nevent: done\ndata: {"status":"succeeded"}\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new EventStreamParser();
      const events = [...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))];
      expect(events).toEqual([
        { event: "log", data: '{"data":"a\\n"}', id: "1" },
        { event: "done", data: '{"status":"succeeded"}' },
      ]);
    }
  });

  it("joins multi-line data, defaults the event name, and accepts CRLF", () => {
    const parser = new EventStreamParser();
    expect(parser.feed("data: one\r\ndata:two\r\n\r\n")).toEqual([{ event: "message", data: "one\ntwo" }]);
    // Nothing complete yet: nothing out.
    expect(parser.feed("event: log\ndata: x")).toEqual([]);
  });
});

describe("readEventStream", () => {
  it("keeps a character split between two network chunks whole", async () => {
    const bytes = new TextEncoder().encode('event: log\ndata: {"data":"héllo ✓"}\n\n');
    const split = bytes.indexOf(0xc3) + 1; // inside é
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, split));
        controller.enqueue(bytes.slice(split));
        controller.close();
      },
    });
    const events: ServerSentEvent[] = [];
    await readEventStream(body, (event) => events.push(event));
    expect(events).toEqual([{ event: "log", data: '{"data":"héllo ✓"}' }]);
  });
});
