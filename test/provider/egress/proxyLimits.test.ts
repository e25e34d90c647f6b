// The egress proxy's limits against real sockets: the job's byte budget, its
// connection limit, and jobs that misbehave (garbage, dropped tunnels, readers
// that stop reading), with the hub of hub.ts on 127.0.0.1 allowed explicitly.
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { performance } from "node:perf_hooks";
import { beforeAll, describe, expect, it } from "vitest";
import { EgressRate } from "../../../provider/egress/rate.ts";
import { eventually } from "../../helpers/eventually.ts";
import { connectVia, httpsInTunnel, httpVia, type ProxyAt } from "./client.ts";
import { closedSocket, useEgressHarness } from "./harness.ts";
import { FLOOD_BYTES, type Hub } from "./hub.ts";

const { startProxy, ...harness } = useEgressHarness();
let hub: Hub;
beforeAll(() => {
  hub = harness.hub();
});

/** Downloads inside a tunnel until the connection ends, however it ends: the bytes of the answer the job got, and the bytes the tunnel carried each way (TLS included, CONNECT's own exchange not). */
function downloadInTunnel(tunnel: Socket, authority: string, path: string): Promise<{ received: number; tunnelBytes: number }> {
  const connectOut = Buffer.byteLength(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const connectIn = Buffer.byteLength("HTTP/1.1 200 Connection Established\r\n\r\n");
  return new Promise((resolve) => {
    const tls = tlsConnect({ socket: tunnel, servername: "hub.test", ca: hub.cert });
    let received = 0;
    tls.on("error", () => tls.destroy());
    tls.on("close", () => resolve({ received, tunnelBytes: tunnel.bytesRead - connectIn + tunnel.bytesWritten - connectOut }));
    const outgoing = request({ createConnection: () => tls, path, headers: { host: "hub.test", connection: "close" } }, (response) => {
      response.on("data", (chunk: Buffer) => (received += chunk.length));
      response.on("error", () => tls.destroy());
    });
    outgoing.on("error", () => tls.destroy());
    outgoing.end();
  });
}

describe("the job's byte budget", () => {
  it("cuts a download that passes it, closes every connection, tells the daemon once, and refuses what comes after", async () => {
    const reasons: string[] = [];
    const budget = 1024 * 1024;
    const { proxy, socketPath } = await startProxy({ budgetBytes: budget, onBudgetExceeded: (reason) => reasons.push(reason) });
    const idle = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(idle.status).toBe(200);
    const seenBefore = hub.seen.length;
    const waiting = httpVia(socketPath, `http://hub.test:${hub.httpPort}/hold`, { headers: { host: "hub.test" } }).then(
      () => "answered",
      () => "cut",
    );
    await eventually(async () => hub.seen.length > seenBefore, { what: "the held request to reach the hub" });
    const authority = `hub.test:${hub.httpsPort}`;
    const download = await connectVia(socketPath, authority);
    const { received, tunnelBytes } = await downloadInTunnel(download.socket, authority, `/bytes/${5 * 1024 * 1024}`);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(5 * 1024 * 1024);
    // The chunk that passes the budget is never forwarded: what the tunnel carried stays within it.
    expect(tunnelBytes).toBeLessThanOrEqual(budget);
    await closedSocket(idle.socket);
    expect(await waiting).toBe("cut");
    expect(reasons).toEqual([`the job's network egress passed its budget of ${budget} bytes`]);
    const after = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(after).toMatchObject({ status: 403, body: `the job's egress budget of ${budget} bytes is used up` });
    const plain = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/hello`, { headers: { host: "hub.test" } });
    expect(plain.status).toBe(403);
    const host = proxy.usage().hosts.find((entry) => entry.port === hub.httpsPort)!;
    expect(host.bytes_in + host.bytes_out).toBeGreaterThan(budget);
    expect(reasons).toHaveLength(1);
  });

  it("cuts a plain HTTP download that passes it", async () => {
    const reasons: string[] = [];
    const budget = 1024 * 1024;
    const { socketPath } = await startProxy({ budgetBytes: budget, onBudgetExceeded: (reason) => reasons.push(reason) });
    let received = 0;
    const cut = await new Promise<boolean>((resolve) => {
      const outgoing = request({ socketPath, path: `http://hub.test:${hub.httpPort}/bytes/${5 * 1024 * 1024}`, headers: { host: "hub.test" }, agent: false }, (response) => {
        response.on("data", (chunk: Buffer) => (received += chunk.length));
        response.on("error", () => resolve(true));
        response.on("end", () => resolve(false));
      });
      outgoing.on("error", () => resolve(true));
      outgoing.end();
    });
    expect(cut).toBe(true);
    expect(received).toBeLessThanOrEqual(budget);
    expect(reasons).toEqual([`the job's network egress passed its budget of ${budget} bytes`]);
  });

  it("cuts an upload that passes it before the byte past the budget reaches the host", async () => {
    const reasons: string[] = [];
    const budget = 1024 * 1024;
    const { socketPath } = await startProxy({ budgetBytes: budget, onBudgetExceeded: (reason) => reasons.push(reason) });
    const closedBefore = hub.closed.length;
    const upload = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/sink`, { method: "POST", body: Buffer.alloc(3 * budget, 1), headers: { host: "hub.test" } }).then(
      () => "answered",
      () => "cut",
    );
    expect(upload).toBe("cut");
    expect(reasons).toEqual([`the job's network egress passed its budget of ${budget} bytes`]);
    const wire = await eventually(async () => hub.closed.slice(closedBefore).find((socket) => socket.server === "http"), { what: "the hub's connection to close" });
    expect(wire.read).toBeGreaterThan(0);
    expect(wire.read).toBeLessThanOrEqual(budget);
  });
});

describe("the job's connection limit", () => {
  it("refuses connections past it with 429 while the ones held still work, and frees a slot when one closes", async () => {
    const { socketPath } = await startProxy({ maxConnections: 2 });
    const first = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    const second = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await connectVia(socketPath, `hub.test:${hub.httpsPort}`)).toMatchObject({ status: 429, body: "this job already has 2 connections open, its limit" });
    expect((await httpVia(socketPath, `http://hub.test:${hub.httpPort}/hello`, { headers: { host: "hub.test" } })).status).toBe(429);
    const answer = await httpsInTunnel(first.socket, "hub.test", hub.cert, "/hello");
    expect(answer.body.toString()).toBe("hello from hub.test");
    const third = await eventually(async () => {
      const attempt = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
      if (attempt.status === 200) return attempt;
      return undefined;
    }, { what: "a slot to free" });
    expect((await httpsInTunnel(third.socket, "hub.test", hub.cert, "/hello")).status).toBe(200);
    expect((await httpsInTunnel(second.socket, "hub.test", hub.cert, "/hello")).status).toBe(200);
  });

  it("counts the connections a forwarder hands over with those relayed to its socket", async () => {
    const { proxy, socketPath } = await startProxy({ maxConnections: 2 });
    const { port, handedOver: handedOverCount } = await harness.startForwarder(proxy, socketPath);
    {
      const handedOver = await connectVia({ port }, `hub.test:${hub.httpsPort}`);
      const relayed = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
      expect([handedOver.status, relayed.status]).toEqual([200, 200]);
      expect(await connectVia({ port }, `hub.test:${hub.httpsPort}`)).toMatchObject({ status: 429, body: "this job already has 2 connections open, its limit" });
      expect((await httpsInTunnel(handedOver.socket, "hub.test", hub.cert, "/hello")).body.toString()).toBe("hello from hub.test");
      // Closed (the request asked for it), the handed-over tunnel frees its slot for the next.
      const next = await eventually(async () => {
        const attempt = await connectVia({ port }, `hub.test:${hub.httpsPort}`);
        return attempt.status === 200 ? attempt : undefined;
      }, { what: "a slot to free" });
      expect((await httpsInTunnel(next.socket, "hub.test", hub.cert, "/hello")).status).toBe(200);
      expect(proxy.usage().hosts).toEqual([expect.objectContaining({ host: "hub.test", port: hub.httpsPort, connections: 3 })]);
      // Every connection to the forwarder came over its channel: the refused one, and each retry until a slot freed.
      expect(handedOverCount()).toBeGreaterThanOrEqual(3);
    }
  });

  it("keeps the sockets a job holds open through its forwarder within the bound the proxy's own socket has", async () => {
    const { proxy, socketPath } = await startProxy({ maxConnections: 1 });
    const { port, handedOver } = await harness.startForwarder(proxy, socketPath);
    // Room for 2 × 1 + 16 held sockets (answers and idle keep-alives beside the slots); 25 idle connections, none saying a word.
    const sockets = await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        // One at a time through the channel, in order: the last ones are past the bound.
        await new Promise((resolve) => setTimeout(resolve, i * 20));
        const socket = connect({ host: "127.0.0.1", port });
        socket.on("error", () => socket.destroy());
        socket.resume();
        return socket;
      }),
    );
    await eventually(async () => handedOver() === 25, { what: "every connection handed over" });
    await eventually(async () => sockets.filter((socket) => socket.closed).length === 7, { what: "the 7 past the bound to be closed" });
    expect(sockets.slice(0, 18).every((socket) => !socket.closed)).toBe(true);
    for (const socket of sockets) socket.destroy();
  });
});

/** One hostile connection: garbage, half a request, a bad target, or a tunnel dropped halfway. Resolves when it is over. */
function hostileConnection(proxyAt: ProxyAt, kind: number): Promise<void> {
  if (kind === 3) {
    return connectVia(proxyAt, `hub.test:${hub.httpsPort}`).then(
      (answer) => {
        answer.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
        answer.socket.destroy();
      },
      () => undefined,
    );
  }
  return new Promise((resolve) => {
    const socket = typeof proxyAt === "string" ? connect({ path: proxyAt }) : connect({ host: "127.0.0.1", port: proxyAt.port });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => resolve());
    socket.resume();
    if (kind === 0) socket.end(Buffer.from("\u0000\u00ff garbage \r\n\r\n\u0001"));
    else if (kind === 1) socket.end(`CONNECT hub.test:${hub.httpsPort} HTTP/1.1\r\nHo`);
    else socket.end("CONNECT :::: HTTP/1.1\r\n\r\n");
  });
}

describe("a hostile job", () => {
  it("cannot break the proxy with 200 connections of garbage, half requests and tunnels dropped halfway", async () => {
    const { socketPath } = await startProxy({ maxConnections: 4 });
    for (let wave = 0; wave < 10; wave++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => hostileConnection(socketPath, i % 4)));
    }
    // Every slot came back: four tunnels at once still work, and the hub holds no connection left over.
    const tunnels = await eventually(async () => {
      const answers = await Promise.all(Array.from({ length: 4 }, () => connectVia(socketPath, `hub.test:${hub.httpsPort}`)));
      if (answers.every((answer) => answer.status === 200)) return answers;
      for (const answer of answers) answer.socket.destroy();
      return undefined;
    }, { what: "four free slots" });
    const bodies = await Promise.all(tunnels.map((tunnel) => httpsInTunnel(tunnel.socket, "hub.test", hub.cert, "/hello")));
    expect(bodies.map((answer) => answer.body.toString())).toEqual(Array(4).fill("hello from hub.test"));
    await eventually(async () => hub.openSockets() === 0, { what: "the hub's connections to close" });
  });

  it("flooding its forwarder with garbage holds up no other job's egress through its own, and gets its own slots back", async () => {
    const hostile = await startProxy({ maxConnections: 4 });
    const hostileForwarder = await harness.startForwarder(hostile.proxy, hostile.socketPath);
    const honest = await startProxy();
    const honestForwarder = await harness.startForwarder(honest.proxy, honest.socketPath);
    const flood = (async () => {
      for (let wave = 0; wave < 10; wave++) {
        await Promise.all(Array.from({ length: 20 }, (_, i) => hostileConnection({ port: hostileForwarder.port }, i % 4)));
      }
    })();
    // While the flood goes on, the other job's connections are handed over and served.
    for (let i = 0; i < 3; i++) {
      const tunnel = await connectVia({ port: honestForwarder.port }, `hub.test:${hub.httpsPort}`);
      expect(tunnel.status).toBe(200);
      expect((await httpsInTunnel(tunnel.socket, "hub.test", hub.cert, "/hello")).body.toString()).toBe("hello from hub.test");
    }
    await flood;
    expect(hostileForwarder.handedOver()).toBeGreaterThanOrEqual(200);
    const tunnels = await eventually(async () => {
      const answers = await Promise.all(Array.from({ length: 4 }, () => connectVia({ port: hostileForwarder.port }, `hub.test:${hub.httpsPort}`)));
      if (answers.every((answer) => answer.status === 200)) return answers;
      for (const answer of answers) answer.socket.destroy();
      return undefined;
    }, { what: "the hostile job's four slots free again" });
    for (const tunnel of tunnels) tunnel.socket.destroy();
    expect(honest.proxy.usage().refused).toBe(0);
  });

  it("that stops reading a large answer in a tunnel holds the host's writer back, instead of filling the proxy's memory", async () => {
    const { socketPath } = await startProxy();
    const tunnel = await connectVia(socketPath, `hub.test:${hub.floodPort}`);
    expect(tunnel.status).toBe(200);
    // The tunnel is paused: the job reads nothing.
    await waitForStalledFlood();
    expect(hub.flood.finished).toBe(false);
    expect(hub.flood.written).toBeLessThan(FLOOD_BYTES / 2);
    let received = 0;
    tunnel.socket.on("data", (chunk: Buffer) => (received += chunk.length));
    tunnel.socket.resume();
    await closedSocket(tunnel.socket);
    expect(received).toBe(FLOOD_BYTES);
  });

  it("that stops reading a large plain HTTP answer holds the host's writer back too", async () => {
    const { socketPath } = await startProxy();
    const response = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
      const outgoing = request({ socketPath, path: `http://hub.test:${hub.httpPort}/flood`, headers: { host: "hub.test" }, agent: false }, resolve);
      outgoing.on("error", reject);
      outgoing.end();
    });
    response.pause();
    await waitForStalledFlood();
    expect(hub.flood.finished).toBe(false);
    expect(hub.flood.written).toBeLessThan(FLOOD_BYTES / 2);
    let received = 0;
    response.on("data", (chunk: Buffer) => (received += chunk.length));
    response.resume();
    await new Promise((resolve) => response.on("end", resolve));
    expect(received).toBe(FLOOD_BYTES);
  });
});

/** Until the hub's flood writer waits for 'drain' and has written nothing more over ten polls (a stalled writer, not a slow one). */
async function waitForStalledFlood(): Promise<void> {
  let last = -1;
  let still = 0;
  await eventually(
    async () => {
      const { written, waitingForDrain } = hub.flood;
      still = waitingForDrain && written === last ? still + 1 : 0;
      last = written;
      return still >= 10;
    },
    { what: "the hub's writer to stall behind the paused reader" },
  );
}

describe("the provider's bandwidth cap (--egress-rate-mb)", () => {
  it("holds every job's egress together to it, tunnels and plain HTTP alike, and still carries each download whole", async () => {
    const rate = new EgressRate(1024 * 1024);
    const first = await startProxy({ rate });
    const second = await startProxy({ rate });
    const size = 1536 * 1024;
    let received = 0;
    const started = performance.now();
    // Sampled while the bytes flow: what has reached the jobs can never be more than the
    // burst plus the rate for the time gone by (a slower machine only stays further under it).
    const overCap: string[] = [];
    const checkCap = () => {
      const allowed = 128 * 1024 + 64 * 1024 + ((performance.now() - started) / 1000) * rate.bytesPerSecond;
      if (received > allowed) overCap.push(`${received} bytes after ${Math.round(performance.now() - started)} ms`);
    };
    const sampler = setInterval(checkCap, 20);
    try {
      const authority = `hub.test:${hub.httpsPort}`;
      const tunnel = await connectVia(first.socketPath, authority);
      const counting = (socket: Socket) => socket.on("data", (chunk: Buffer) => (received += chunk.length));
      counting(tunnel.socket);
      const plain = new Promise<number>((resolve, reject) => {
        const outgoing = request({ socketPath: second.socketPath, path: `http://hub.test:${hub.httpPort}/bytes/${size}`, headers: { host: "hub.test" }, agent: false }, (response) => {
          let body = 0;
          response.on("data", (chunk: Buffer) => {
            body += chunk.length;
            received += chunk.length;
          });
          response.on("end", () => resolve(body));
          response.on("error", reject);
        });
        outgoing.on("error", reject);
        outgoing.end();
      });
      const [overTunnel, overPlain] = await Promise.all([downloadInTunnel(tunnel.socket, authority, `/bytes/${size}`), plain]);
      expect(overTunnel.received).toBe(size);
      expect(overPlain).toBe(size);
      checkCap();
    } finally {
      clearInterval(sampler);
    }
    expect(overCap).toEqual([]);
  });

  it("gives a job with one download as much as a job with eight, while both wait for the cap", async () => {
    const rate = new EgressRate(1024 * 1024);
    const greedy = await startProxy({ rate });
    const modest = await startProxy({ rate });
    const size = 8 * 1024 * 1024;
    const received = { greedy: 0, modest: 0 };
    const downloads: Array<{ destroy: () => void }> = [];
    const download = (socketPath: string, job: keyof typeof received) => {
      const outgoing = request({ socketPath, path: `http://hub.test:${hub.httpPort}/bytes/${size}`, headers: { host: "hub.test" }, agent: false }, (response) => {
        response.on("data", (chunk: Buffer) => (received[job] += chunk.length));
        response.on("error", () => undefined);
      });
      outgoing.on("error", () => undefined);
      outgoing.end();
      downloads.push(outgoing);
    };
    for (let connection = 0; connection < 8; connection++) download(greedy.socketPath, "greedy");
    download(modest.socketPath, "modest");
    try {
      // About two seconds at the cap: long enough for many turns, far short of any download's end.
      await eventually(async () => received.greedy + received.modest >= 2 * 1024 * 1024, { what: "2 MiB to arrive through the cap", timeoutMs: 30_000 });
    } finally {
      for (const outgoing of downloads) outgoing.destroy();
    }
    const total = received.greedy + received.modest;
    // Served connection by connection, the job with one download would get a ninth; in turns, about half.
    expect(received.modest / total).toBeGreaterThan(0.35);
    expect(received.greedy / total).toBeGreaterThan(0.35);
  });

  it("lets a burst through at once, then makes chunks wait their turn for tokens", async () => {
    const rate = new EgressRate(1024 * 1024);
    const first = rate.share();
    const second = rate.share();
    const passed: string[] = [];
    // The burst (128 KiB at 1 MiB/s) passes at once, and one chunk more on credit.
    for (const name of ["a1", "a2", "a3"]) rate.request(first, 64 * 1024, () => passed.push(name));
    expect(passed).toEqual(["a1", "a2", "a3"]);
    // Four more chunks of the first job queue ahead of the second job's one: the second's comes in the first job's next turn.
    for (const name of ["a4", "a5", "a6", "a7"]) rate.request(first, 64 * 1024, () => passed.push(name));
    rate.request(second, 64 * 1024, () => passed.push("b1"));
    expect(passed).toHaveLength(3);
    await eventually(async () => passed.length === 8, { what: "every chunk to pass" });
    expect(passed.slice(3, 5)).toEqual(["a4", "b1"]);
    // A closed job's waiting chunks never pass. The bucket is drained first (more than a burst, so some goes
    // on credit or waits), so the closing job's chunk waits however long the wait above took to refill it.
    for (let i = 0; i < 3; i++) rate.request(first, 64 * 1024, () => undefined);
    const closing = rate.share();
    let passedAfterClose = false;
    rate.request(closing, 64 * 1024, () => (passedAfterClose = true));
    closing.close();
    rate.request(second, 64 * 1024, () => passed.push("b2"));
    await eventually(async () => passed.includes("b2"), { what: "the open job's chunk to pass" });
    expect(passedAfterClose).toBe(false);
    expect(() => new EgressRate(0)).toThrow(/above zero/);
  });
});
