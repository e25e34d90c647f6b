// Server-sent events as the dashboard reads them from a fetch body, and its live
// log's follow loop over them (the API's answers scripted).
import { describe, expect, it } from "vitest";
import { EventStreamParser, readEventStream, type ServerSentEvent } from "../../web/api/eventStream.ts";
import { ApiProblem } from "../../web/api/http.ts";
import { followLog } from "../../web/job/followLog.ts";

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

/** An event stream body: these events, then an end, or a dropped connection. */
function body(text: string, end: "close" | "drop" = "close"): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        return controller.enqueue(new TextEncoder().encode(text));
      }
      if (end === "close") controller.close();
      else controller.error(new Error("the connection dropped"));
    },
  });
}
const frame = (event: string, data: unknown, id?: number) => `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** followLog with scripted answers, noting what it asked with and what it showed. */
async function followScripted(answers: Array<() => Response>) {
  const asked: Array<string | undefined> = [];
  const states: string[] = [];
  const statuses: string[] = [];
  const sleeps: number[] = [];
  let text = "";
  await followLog(
    {
      open: async (lastEventId) => {
        asked.push(lastEventId);
        const answer = answers.shift();
        if (!answer) throw new Error("asked once too often");
        return answer();
      },
      text: (shown) => (text = shown),
      status: (status) => statuses.push(status),
      state: (state, error) => states.push(error ? `${state}: ${error}` : state),
      sleep: async (ms) => void sleeps.push(ms),
    },
    new AbortController().signal,
  );
  return { asked, states, statuses, sleeps, text: () => text };
}

describe("followLog (the dashboard's live log)", () => {
  it("reopens a dropped stream after the last event shown, shows each line once, and ends with done", async () => {
    const run = await followScripted([
      () => new Response(body("retry: 1000\n\n" + frame("log", { data: "one\n" }, 3), "drop"), { headers: { "content-type": "text/event-stream" } }),
      () => new Response(body(frame("log", { data: "two\n" }, 4) + frame("status", { status: "succeeded" }, 5) + frame("done", { status: "succeeded" }, 5))),
    ]);
    expect(run.text()).toBe("one\ntwo\n");
    expect(run.asked).toEqual([undefined, "3"]);
    expect(run.statuses).toEqual(["succeeded", "succeeded"]);
    expect(run.states).toEqual(["live", "reconnecting", "live", "ended"]);
  });

  it("stops at a 204: the job has ended and everything was shown", async () => {
    const run = await followScripted([() => new Response(body(frame("log", { data: "all\n" }, 9))), () => new Response(null, { status: 204 })]);
    expect(run.text()).toBe("all\n");
    expect(run.asked).toEqual([undefined, "9"]);
    expect(run.states.at(-1)).toBe("ended");
  });

  it("reads a stream cut for falling behind again at once, after the cut's id", async () => {
    const run = await followScripted([
      () => new Response(body(frame("log", { data: "a" }, 1) + frame("cut", { reason: "lagging", detail: "behind" }, 1))),
      () => new Response(body(frame("log", { data: "b" }, 2) + frame("done", { status: "failed" }, 2))),
    ]);
    expect(run.text()).toBe("ab");
    expect(run.asked).toEqual([undefined, "1"]);
    expect(run.sleeps).toEqual([]);
  });

  it("gives up on a refusal that will not change", async () => {
    const run = await followScripted([
      () => {
        throw new ApiProblem({ type: "https://pond.dev/problems/not-found", title: "Not found", status: 404, detail: "job was not found" });
      },
    ]);
    expect(run.states).toEqual(["refused: job was not found"]);
  });
});
