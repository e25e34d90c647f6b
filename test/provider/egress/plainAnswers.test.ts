// Plain HTTP through the egress proxy, whose answers pass byte for byte after
// their head (forward.ts): bodies framed every way a host may frame them, heads
// that come in pieces or after an interim answer, and hosts that answer with
// something that is not HTTP. The odd hosts are raw TCP servers on 127.0.0.1
// (allowed explicitly, as in every egress test); chunked bodies use the hub.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { request } from "node:http";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseEgressRules } from "../../../protocol/egress.ts";
import { MAX_ANSWER_HEAD_BYTES } from "../../../provider/egress/httpHeads.ts";
import { eventually } from "../../helpers/eventually.ts";
import { httpVia } from "./client.ts";
import { resolverOf, useEgressHarness } from "./harness.ts";
import { type Hub, pattern } from "./hub.ts";

const { startProxy, ...harness } = useEgressHarness();
let hub: Hub;
beforeAll(() => {
  hub = harness.hub();
});
const hosts: Server[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw TCP host that reads the request's head, then does what `answer` does with the socket. */
async function oddHost(answer: (socket: Socket) => Promise<void> | void): Promise<{ url: (path: string) => string; proxy: () => ReturnType<typeof startProxy> }> {
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    let head = "";
    const onData = (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.removeListener("data", onData);
      void answer(socket);
    };
    socket.on("data", onData);
  });
  hosts.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://odd.test:${port}${path}`,
    proxy: () => startProxy({ rules: parseEgressRules([`odd.test:${port}`]), resolve: resolverOf({ "odd.test": ["127.0.0.1"] }).resolve }),
  };
}

describe("a plain HTTP answer", () => {
  it("framed by the host's close (HTTP/1.0, no length) comes whole to a job that reads slowly, after the host has gone", async () => {
    const body = randomBytes(6 * 1024 * 1024 + 3);
    const host = await oddHost((socket) => void socket.end(Buffer.concat([Buffer.from("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"), body])));
    const { socketPath } = await host.proxy();
    const answer = await new Promise<{ status: number; connection: string | undefined; body: Buffer }>((resolve, reject) => {
      const outgoing = request({ socketPath, path: host.url("/weights"), headers: { host: "odd.test" }, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => {
          chunks.push(chunk);
          // Stalls often: the host has written everything and closed long before the job has read it.
          if (chunks.length % 4 !== 0) return;
          response.pause();
          setTimeout(() => response.resume(), 10);
        });
        response.on("end", () => resolve({ status: response.statusCode!, connection: response.headers.connection, body: Buffer.concat(chunks) }));
        response.on("error", reject);
      });
      outgoing.on("error", reject);
      outgoing.end();
    });
    expect(answer.status).toBe(200);
    expect(answer.connection).toBe("close");
    expect(answer.body.length).toBe(body.length);
    expect(sha256(answer.body)).toBe(sha256(body));
  });

  it("with its head in pieces after an interim 100 Continue, comes as the final answer alone", async () => {
    const host = await oddHost(async (socket) => {
      socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Cre");
      await sleep(30);
      socket.write("ated\r\nX-Model: digits\r\nContent-Len");
      await sleep(30);
      socket.end("gth: 5\r\nKeep-Alive: timeout=5\r\n\r\nhello");
    });
    const { socketPath } = await host.proxy();
    const answer = await httpVia(socketPath, host.url("/upload"), { method: "POST", body: Buffer.from("x"), headers: { host: "odd.test" } });
    expect(answer.status).toBe(201);
    expect(answer.headers["x-model"]).toBe("digits");
    expect(answer.headers["keep-alive"]).toBeUndefined();
    expect(answer.body.toString()).toBe("hello");
  });

  it("that is not HTTP, too long a head, or no answer at all gets the job a 502 that says which", async () => {
    const cases: Array<{ answer: (socket: Socket) => void; reason: string }> = [
      { answer: (socket) => void socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"), reason: "sent an answer that is not HTTP/1.x" },
      { answer: (socket) => void socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(MAX_ANSWER_HEAD_BYTES)}\r\n`), reason: `sent an answer head over ${MAX_ANSWER_HEAD_BYTES} bytes` },
      { answer: (socket) => void socket.end(), reason: "closed the connection without an answer" },
      { answer: (socket) => void socket.end("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n"), reason: "sent an answer with a malformed header line" },
    ];
    for (const { answer, reason } of cases) {
      const host = await oddHost(answer);
      const { proxy, socketPath } = await host.proxy();
      const got = await httpVia(socketPath, host.url("/"), { headers: { host: "odd.test" } });
      expect(got.status, reason).toBe(502);
      expect(got.body.toString(), reason).toContain(reason);
      expect(proxy.usage().refused, reason).toBe(1);
    }
  });
});

describe("a plain HTTP request", () => {
  it("with a chunked body (no length) reaches the host whole, and the host's chunked answer comes back whole", async () => {
    const { proxy, socketPath } = await startProxy();
    const parts = [pattern(1, 70_000), pattern(2, 1), pattern(3, 300_000)];
    const answer = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
      const outgoing = request({ socketPath, method: "POST", path: `http://hub.test:${hub.httpPort}/echo`, headers: { host: "hub.test" }, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks) }));
        response.on("error", reject);
      });
      outgoing.on("error", reject);
      // Written in parts with a pause between: the request goes out chunked.
      void (async () => {
        for (const part of parts) {
          outgoing.write(part);
          await sleep(20);
        }
        outgoing.end();
      })();
    });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(Buffer.concat(parts))).toBe(true);
    const seen = hub.seen.at(-1)!;
    expect(seen.headers["transfer-encoding"]).toBe("chunked");
    expect(proxy.usage().hosts[0]!.bytes_out).toBeGreaterThan(370_001);
  });

  it("pipelined behind another on one connection is left unanswered: the job gets one answer whole, and the slot back", async () => {
    const { socketPath } = await startProxy({ maxConnections: 2 });
    const size = 300_000;
    const request = (path: string) => `GET http://hub.test:${hub.httpPort}${path} HTTP/1.1\r\nHost: hub.test\r\n\r\n`;
    const got = await rawExchange(socketPath, request(`/bytes/${size}`) + request("/hello"));
    expect(got.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    expect(got.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(got.length - (got.indexOf("\r\n\r\n") + 4)).toBe(size);
    // Its slot is free again: two requests at once are not refused for the limit.
    const hello = () => httpVia(socketPath, `http://hub.test:${hub.httpPort}/hello`, { headers: { host: "hub.test" } });
    expect((await Promise.all([hello(), hello()])).map((answer) => answer.status)).toEqual([200, 200]);
  });

  it("pipelined by the thousand behind a slow answer are read no further than Node's own guard lets through, and the answer comes whole", async () => {
    const host = await oddHost(async (socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
      await sleep(1_000);
      socket.end("56789");
    });
    const { proxy, socketPath } = await host.proxy();
    // The proxy's HTTP server (private): how many requests it parsed is what a flood costs the daemon.
    let parsed = 0;
    (proxy as unknown as { server: import("node:http").Server }).server.on("request", () => parsed++);
    const job = connect({ path: socketPath });
    const chunks: Buffer[] = [];
    job.on("data", (chunk: Buffer) => chunks.push(chunk));
    job.on("error", () => undefined);
    const request = `GET ${host.url("/")} HTTP/1.1\r\nHost: odd.test\r\n\r\n`;
    job.write(request);
    await eventually(async () => chunks.length > 0, { what: "the answer to begin" });
    const flood = request.repeat(1_000);
    for (let i = 0; i < 100; i++) job.write(flood);
    await eventually(async () => Buffer.concat(chunks).toString("latin1").endsWith("0123456789"), { what: "the whole answer" });
    const got = Buffer.concat(chunks).toString("latin1");
    expect(got.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    // 100,001 requests sent; without the guard every one was parsed and held until the socket closed.
    expect(parsed).toBeGreaterThan(1);
    expect(parsed).toBeLessThan(10_000);
    job.destroy();
  });

  it("followed by bytes the server cannot read gets no error answer written into its own", async () => {
    const host = await oddHost(async (socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234");
      await sleep(200);
      socket.end("56789");
    });
    const { socketPath } = await host.proxy();
    // Sent once the answer has begun: the server's parser fails on it while the proxy writes the answer.
    const got = await rawExchange(socketPath, `GET ${host.url("/")} HTTP/1.1\r\nHost: odd.test\r\n\r\n`, "\x01garbage\r\n\r\n");
    expect(got.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(got).not.toContain("400 Bad Request");
    expect(got.match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });
});

describe("a job that gives up on its own request", () => {
  it("before the host answers is no refusal of the host's, and gives its slot back", async () => {
    const { proxy, socketPath } = await startProxy({ maxConnections: 1 });
    const seenBefore = hub.seen.length;
    const socket = connect({ path: socketPath });
    socket.on("error", () => undefined);
    socket.write(`GET http://hub.test:${hub.httpPort}/hold HTTP/1.1\r\nHost: hub.test\r\n\r\n`);
    await eventually(async () => hub.seen.length > seenBefore, { what: "the held request to reach the hub" });
    socket.destroy();
    const answer = await eventually(async () => {
      const got = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/hello`, { headers: { host: "hub.test" } });
      return got.status === 200 ? got : undefined;
    }, { what: "the slot to come back" });
    expect(answer.body.toString()).toContain("hello");
    expect(proxy.usage().refused).toBe(0);
  });
});

/** Writes `bytes` as they are to the proxy's socket (and `afterFirstRead` once something came back), and reads everything until it closes. */
async function rawExchange(socketPath: string, bytes: string, afterFirstRead?: string): Promise<string> {
  const socket = connect({ path: socketPath });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => {
    if (chunks.length === 0 && afterFirstRead) socket.write(Buffer.from(afterFirstRead, "latin1"));
    chunks.push(chunk);
  });
  socket.on("error", () => undefined);
  socket.write(Buffer.from(bytes, "latin1"));
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}
