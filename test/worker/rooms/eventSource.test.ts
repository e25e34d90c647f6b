// `GET /v1/jobs/:id/logs` read by the standard client, the `eventsource` package,
// against the real Worker: a provider sends output through the hub, the job's
// room serves it. The one thing not real is the dropped connection: the client's
// fetch errors its body mid-stream when the test says so.
import { SELF } from "cloudflare:test";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import { eventually } from "../../helpers/eventually.ts";
import { assignedJob } from "../assignedJob.ts";
import { call, ORIGIN } from "../client.ts";
import type { TestProvider } from "../providerSocket.ts";

interface SeenEvent {
  type: string;
  data: Record<string, unknown>;
  id: string;
}

/** EventSource's fetch: the key in the Authorization header, each request and its answer noted, the open stream droppable. */
function clientFetch(key: string) {
  const requests: Array<{ lastEventId: string | null; status?: number }> = [];
  let dropOpen: (() => void) | undefined;
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    headers.set("authorization", `Bearer ${key}`);
    const request: (typeof requests)[number] = { lastEventId: headers.get("last-event-id") };
    requests.push(request);
    const response = await SELF.fetch(String(input instanceof Request ? input.url : input), { ...init, headers });
    request.status = response.status;
    if (!response.body) return response;
    let gate!: TransformStreamDefaultController<Uint8Array>;
    const body = response.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({ start: (controller) => void (gate = controller) }));
    dropOpen = () => gate.error(new Error("the connection dropped"));
    return new Response(body, { status: response.status, headers: response.headers });
  };
  return { fetch, requests, drop: () => dropOpen?.() };
}

function follow(jobId: string, key: string) {
  const client = clientFetch(key);
  const source = new EventSource(`${ORIGIN}/v1/jobs/${jobId}/logs`, { fetch: client.fetch as typeof globalThis.fetch });
  const events: SeenEvent[] = [];
  for (const type of ["log", "status", "done", "cut"]) {
    source.addEventListener(type, (event) => {
      events.push({ type, data: JSON.parse(event.data) as Record<string, unknown>, id: event.lastEventId });
    });
  }
  const output = () => events.filter((e) => e.type === "log").map((e) => e.data.data as string).join("");
  return { source, events, output, ...client };
}

const log = (jobId: string, data: string) => ({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: jobId, data });

const jobOf = async (jobId: string, key: string) => (await (await call(`/v1/jobs/${jobId}`, { key })).json()) as { status: string; logs: string };

let provider: TestProvider | undefined;
afterEach(async () => {
  await provider?.close();
  provider = undefined;
});

describe("the log stream with the eventsource client", () => {
  it("gives every event an id, resumes a running job's stream from Last-Event-ID without repeating anything, and ends with 204", async () => {
    const assigned = await assignedJob();
    provider = assigned.provider;
    const jobId = assigned.job.id;
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase: "running" });
    provider.send(log(jobId, "line 1\n"));
    await eventually(async () => (await jobOf(jobId, assigned.key)).logs === "line 1\n", { what: "the first line in the job's tail" });

    const reader = follow(jobId, assigned.key);
    await eventually(async () => reader.output() === "line 1\n", { what: "the tail" });
    provider.send(log(jobId, "line 2\n"));
    await eventually(async () => reader.output() === "line 1\nline 2\n", { what: "line 2, live" });
    const beforeDrop = reader.events.at(-1)!.id;

    reader.drop();
    // Printed while the reader is away: the room keeps it for the reconnect.
    provider.send(log(jobId, "line 3\n"));
    await eventually(async () => reader.requests.length === 2 && reader.output().includes("line 3"), { what: "the reconnect" });
    expect(reader.requests[1]!.lastEventId).toBe(beforeDrop);

    provider.send(log(jobId, "line 4\n"));
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: jobId, outcome: "failed", exit_code: 1, error: "exit 1", manifest: null, amount_wei: "0", signature: null });
    await eventually(async () => reader.source.readyState === EventSource.CLOSED, { what: "the client to stop" });

    expect(reader.output()).toBe("line 1\nline 2\nline 3\nline 4\n");
    const done = reader.events.filter((e) => e.type === "done");
    expect(done).toEqual([{ type: "done", data: { status: "failed" }, id: expect.stringMatching(/^\d+$/) }]);
    for (const event of reader.events) expect(event.id, `${event.type} ${JSON.stringify(event.data)}`).toMatch(/^\d+$/);
    const ids = reader.events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // The stream after `done` was closed; the client came back with done's id and was told there is nothing more.
    expect(reader.requests.map((r) => r.status)).toEqual([200, 200, 204]);
    expect(reader.requests[2]!.lastEventId).toBe(done[0]!.id);
  });

  it("sends a finished job's tail and `done` once, then 204: the client stops instead of fetching the tail every few seconds", async () => {
    const assigned = await assignedJob();
    provider = assigned.provider;
    const jobId = assigned.job.id;
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase: "running" });
    provider.send(log(jobId, "all of it\n"));
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: jobId, outcome: "failed", exit_code: 3, error: "exit 3", manifest: null, amount_wei: "0", signature: null });
    await eventually(async () => (await jobOf(jobId, assigned.key)).status === "failed", { what: "the job to end" });

    const reader = follow(jobId, assigned.key);
    await eventually(async () => reader.source.readyState === EventSource.CLOSED, { what: "the client to stop" });
    expect(reader.output()).toBe("all of it\n");
    expect(reader.events.map((e) => e.type)).toEqual(["log", "done"]);
    expect(reader.requests.map((r) => r.status)).toEqual([200, 204]);
    expect(reader.requests[1]!.lastEventId).toBe(reader.events[1]!.id);
  });

  it("frames every event with an id and opens with retry:", async () => {
    const assigned = await assignedJob();
    provider = assigned.provider;
    const jobId = assigned.job.id;
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: jobId, phase: "running" });
    provider.send(log(jobId, "a\n"));
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.result", job_id: jobId, outcome: "failed", exit_code: 1, error: "x", manifest: null, amount_wei: "0", signature: null });
    await eventually(async () => (await jobOf(jobId, assigned.key)).status === "failed", { what: "the job to end" });

    // From the start (id 0): every event the room kept, each framed with its id.
    const text = await (await call(`/v1/jobs/${jobId}/logs`, { key: assigned.key, headers: { "last-event-id": "0" } })).text();
    const blocks = text.split("\n\n").filter((block) => block.length > 0);
    expect(blocks[0]).toBe("retry: 1000");
    const events = blocks.slice(1);
    expect(events.map((block) => `${/^event: (.*)$/m.exec(block)?.[1]} ${/^data: (.*)$/m.exec(block)?.[1]}`)).toEqual([
      'status {"status":"starting"}',
      'status {"status":"processing"}',
      'log {"data":"a\\n"}',
      'status {"status":"failed"}',
      'done {"status":"failed"}',
    ]);
    for (const block of events) expect(block).toMatch(/^id: \d+$/m);
  });
});
