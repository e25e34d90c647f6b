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

/** An API whose log stream drops once mid-job, then replays its tail as the real one does. */
function flakyApi() {
  const job = (status: string, logs: string) => ({
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
  const sse = (...events: Array<[string, unknown]>) => events.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`).join("");
  let streams = 0;
  const fetch = async (url: string | URL | Request) => {
    const path = new URL(url instanceof Request ? url.url : String(url)).pathname;
    if (path.endsWith("/logs")) {
      streams += 1;
      const body = streams === 1 ? sse(["log", { data: "one\ntwo\n" }]) : sse(["log", { data: "two\nthree\n" }], ["status", { status: "succeeded" }], ["done", { status: "succeeded" }]);
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return Response.json(job(streams < 2 ? "processing" : "succeeded", "one\ntwo\nthree\n"));
  };
  return { client: new PondClient({ baseUrl: "http://api.test", apiKey: "k", fetch: fetch as typeof globalThis.fetch }), streams: () => streams };
}

describe("followLogs", () => {
  it("reopens a dropped stream and prints each line once, until done", async () => {
    const api = flakyApi();
    let out = "";
    let reconnects = 0;
    const done = await followLogs(api.client, "job_1", { write: (text) => (out += text), onReconnect: () => (reconnects += 1) });
    expect(out).toBe("one\ntwo\nthree\n");
    expect(reconnects).toBe(1);
    expect(api.streams()).toBe(2);
    expect(done.status).toBe("succeeded");
  });
});
