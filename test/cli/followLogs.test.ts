import { describe, expect, it } from "vitest";
import { followLogs, unseenOutput } from "../../cli/followLogs.ts";
import { PondClient } from "../../sdk/index.ts";

describe("unseenOutput", () => {
  it("skips the part of a replayed tail already printed", () => {
    expect(unseenOutput("line-1\nline-2\n", "line-2\nline-3\n")).toBe("line-3\n");
    expect(unseenOutput("a\nb\nc\n", "b\nc\n")).toBe("");
    expect(unseenOutput("", "x\n")).toBe("x\n");
    expect(unseenOutput("old\n", "new\n")).toBe("new\n");
  });

  it("finds the longest overlap in repetitive output", () => {
    expect(unseenOutput("abababab", "ababx")).toBe("x");
    expect(unseenOutput("aaaa", "aaaaaab")).toBe("aab");
    expect(unseenOutput("xyz😀", "😀!")).toBe("!");
  });
});

const jobOf = (status: string, logs: string) => ({
  id: "job_1",
  status,
  status_detail: null,
  spec: { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 5, max_price_wei: "1" },
  output: null,
  error: null,
  exit_code: status === "succeeded" ? 0 : null,
  logs,
  metrics: { queue_ms: null, pull_ms: null, run_ms: null },
  provider: null,
  attempt: 0,
  settlement: "none",
  chain_job_id: `0x${"0".repeat(64)}`,
  price: { rate_wei_per_second: null, max_wei: null, claimed_wei: null, claim_signature: null },
  created_at: "2025-01-01T00:00:00Z",
  started_at: null,
  completed_at: null,
  urls: { get: "", cancel: "", logs: "", outputs: "" },
  webhook: null,
  webhook_events_filter: [],
  template: null,
});

type SseEvent = [event: string, data: unknown, id?: number];
const sse = (...events: SseEvent[]) => "retry: 1000\n\n" + events.map(([event, data, id]) => `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join("");

/**
 * The API as the log follower sees it, scripted: each log request gets the next answer (an event
 * stream, or 204), and the job reads as `status` until the last answer was handed out.
 */
function scriptedApi(answers: Array<string | 204>, final: { status: string; logs: string }) {
  const lastEventIds: Array<string | null> = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    const path = new URL(url instanceof Request ? url.url : String(url)).pathname;
    if (path.endsWith("/logs")) {
      lastEventIds.push(new Headers(init?.headers).get("last-event-id"));
      const answer = answers[lastEventIds.length - 1];
      if (answer === undefined) throw new Error("asked for the log once too often");
      return answer === 204 ? new Response(null, { status: 204 }) : new Response(answer, { headers: { "content-type": "text/event-stream" } });
    }
    const ended = lastEventIds.length >= answers.length;
    return Response.json(ended ? jobOf(final.status, final.logs) : jobOf("processing", ""));
  };
  return { client: new PondClient({ baseUrl: "http://api.test", apiKey: "k", fetch: fetch as typeof globalThis.fetch }), lastEventIds };
}

async function followed(api: ReturnType<typeof scriptedApi>) {
  let out = "";
  const reconnects: unknown[] = [];
  const done = await followLogs(api.client, "job_1", { write: (text) => (out += text), onReconnect: (error) => reconnects.push(error) });
  return { out, reconnects, done };
}

describe("followLogs", () => {
  it("reopens a dropped stream after the last event it printed, and prints each line once, until done", async () => {
    const api = scriptedApi(
      [
        sse(["log", { data: "one\ntwo\n" }, 1]),
        sse(["log", { data: "three\n" }, 2], ["status", { status: "succeeded" }, 3], ["done", { status: "succeeded" }, 3]),
      ],
      { status: "succeeded", logs: "one\ntwo\nthree\n" },
    );
    const { out, reconnects, done } = await followed(api);
    expect(out).toBe("one\ntwo\nthree\n");
    expect(reconnects).toHaveLength(1);
    expect(api.lastEventIds).toEqual([null, "1"]);
    expect(done.status).toBe("succeeded");
  });

  it("goes on after a stream cut for falling behind, and says why it reconnects", async () => {
    const api = scriptedApi(
      [
        sse(["log", { data: "a\n" }, 7], ["cut", { reason: "lagging", detail: "this stream fell 600000 bytes behind" }, 7]),
        sse(["log", { data: "b\n" }, 8], ["done", { status: "failed" }, 8]),
      ],
      { status: "failed", logs: "a\nb\n" },
    );
    const { out, reconnects } = await followed(api);
    expect(out).toBe("a\nb\n");
    expect(api.lastEventIds).toEqual([null, "7"]);
    expect(String(reconnects[0])).toMatch(/fell 600000 bytes behind/);
  });

  it("stops when the server says there is nothing left after its last event (204)", async () => {
    const api = scriptedApi([sse(["log", { data: "x\n" }, 5]), 204], { status: "succeeded", logs: "x\n" });
    const { out, done } = await followed(api);
    expect(out).toBe("x\n");
    expect(api.lastEventIds).toEqual([null, "5"]);
    expect(done.status).toBe("succeeded");
  });

  it("lines a replayed tail up with what it printed when the stream gave no ids", async () => {
    const api = scriptedApi(
      [sse(["log", { data: "one\ntwo\n" }]), sse(["log", { data: "two\nthree\n" }], ["status", { status: "succeeded" }], ["done", { status: "succeeded" }])],
      { status: "succeeded", logs: "one\ntwo\nthree\n" },
    );
    const { out } = await followed(api);
    expect(out).toBe("one\ntwo\nthree\n");
    expect(api.lastEventIds).toEqual([null, null]);
  });
});
