// The TLS server name a job's tunnel asks for: read from real ClientHellos
// (Node's own TLS client), whole, in pieces and split over records, and
// enforced by the proxy against the host the job connected to.
import { createServer, type Server, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseEgressRules } from "../../../protocol/egress.ts";
import { readClientHello } from "../../../provider/egress/sni.ts";
import { eventually } from "../../helpers/eventually.ts";
import { closedSocket, useEgressHarness } from "./harness.ts";
import { connectVia, httpsInTunnel } from "./client.ts";
import type { Hub } from "./hub.ts";

const { startProxy, ...harness } = useEgressHarness();
let hub: Hub;
beforeAll(() => {
  hub = harness.hub();
});

/** The first bytes Node's TLS client sends to a server, asking for `servername` (none: no SNI, as for an address). */
async function clientHelloOf(servername?: string): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const hello = new Promise<Buffer>((resolve) => server.once("connection", (socket: Socket) => socket.once("data", (chunk: Buffer) => resolve(chunk))));
    const client = tlsConnect({ host: "127.0.0.1", port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
    client.on("error", () => undefined);
    const bytes = await hello;
    client.destroy();
    return bytes;
  } finally {
    server.close();
  }
}

/** The same hello with its handshake message cut into two TLS records. */
function inTwoRecords(hello: Buffer): Buffer {
  const message = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const cut = 40;
  const record = (fragment: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, fragment.length >> 8, fragment.length & 0xff]), fragment]);
  return Buffer.concat([record(message.subarray(0, cut)), record(message.subarray(cut))]);
}

describe("reading a ClientHello's server name", () => {
  it("finds the name in a real hello, whole or split over two records, and waits while any part is missing", async () => {
    const hello = await clientHelloOf("models.example");
    expect(readClientHello(hello)).toEqual({ kind: "hello", serverName: "models.example" });
    expect(readClientHello(inTwoRecords(hello))).toEqual({ kind: "hello", serverName: "models.example" });
    for (const length of [1, 4, 5, 9, 60, hello.length - 1]) expect(readClientHello(hello.subarray(0, length))).toEqual({ kind: "more" });
    expect(readClientHello(inTwoRecords(hello).subarray(0, 50))).toEqual({ kind: "more" });
  });

  it("reports a hello without a name, bytes that are not TLS, and handshakes it cannot read", async () => {
    expect(readClientHello(await clientHelloOf())).toEqual({ kind: "hello" });
    expect(readClientHello(Buffer.from("SSH-2.0-OpenSSH_9.2\r\n"))).toEqual({ kind: "not-tls" });
    expect(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]))).toMatchObject({ kind: "unreadable", why: expect.stringContaining("not a ClientHello") });
    // A hello whose lengths point past its own end.
    const hello = await clientHelloOf("models.example");
    const lying = Buffer.from(hello);
    lying.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + lying[5 + 4 + 2 + 32]!);
    expect(readClientHello(lying)).toMatchObject({ kind: "unreadable", why: "a malformed TLS ClientHello" });
    // An empty handshake record, then anything but another: no hello is coming, however much follows.
    expect(readClientHello(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), Buffer.alloc(100_000, 0x41)]))).toMatchObject({ kind: "unreadable", why: "a truncated TLS ClientHello" });
    // A handshake announced at 16 MiB is not waited for.
    expect(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0xff, 0xff, 0xff]))).toMatchObject({ kind: "unreadable", why: expect.stringContaining("over") });
  });
});

describe("a tunnel whose TLS asks for another server name", () => {
  it("is cut before the server hears the hello, and counted as a refusal; the allowed name passes in any case", async () => {
    const { proxy, socketPath } = await startProxy();
    const seenBefore = hub.seen.length;
    const authority = `hub.test:${hub.httpsPort}`;
    const fronted = await connectVia(socketPath, authority);
    expect(fronted.status).toBe(200);
    // other.test is on the hub's certificate and address too: only the name inside TLS differs.
    const attempt = httpsInTunnel(fronted.socket, "other.test", hub.cert, "/hello").then(
      () => "answered",
      () => "cut",
    );
    expect(await attempt).toBe("cut");
    await closedSocket(fronted.socket);
    expect(hub.seen.length).toBe(seenBefore);
    await eventually(async () => proxy.usage().refused === 1, { what: "the refusal to be counted" });

    const allowed = await connectVia(socketPath, authority);
    expect((await httpsInTunnel(allowed.socket, "HUB.test", hub.cert, "/hello")).status).toBe(200);
    expect(proxy.usage().refused).toBe(1);
  });
});

/** A host on loopback that records what it received and answers with a banner once the job has half-closed. */
async function bannerHost(): Promise<{ server: Server; port: number; received: () => number }> {
  let received = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on("data", (chunk: Buffer) => (received += chunk.length));
    socket.on("error", () => socket.destroy());
    socket.on("end", () => socket.end("BANNER after your EOF\n"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port, received: () => received };
}

describe("a tunnel's first bytes", () => {
  let host: Awaited<ReturnType<typeof bannerHost>> | undefined;
  afterEach(() => host?.server.close());

  /** A proxy allowing only the banner host, and a tunnel to it through that proxy (on its socket, or handed over by a forwarder). */
  async function tunnelToBannerHost(through: "socket" | "forwarder" = "socket") {
    host = await bannerHost();
    const { proxy, socketPath } = await startProxy({ rules: parseEgressRules([`hub.test:${host.port}`]) });
    const proxyAt = through === "socket" ? socketPath : { port: (await harness.startForwarder(proxy, socketPath)).port };
    const tunnel = await connectVia(proxyAt, `hub.test:${host.port}`);
    expect(tunnel.status).toBe(200);
    return { proxy, tunnel: tunnel.socket, received: host.received };
  }

  it("that start a TLS record and then trickle anything else are cut, held by the proxy no longer than a hello may be", async () => {
    const { proxy, tunnel, received } = await tunnelToBannerHost();
    tunnel.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]));
    for (let i = 0; i < 20 && !tunnel.destroyed; i++) tunnel.write(Buffer.alloc(16 * 1024, 0x41));
    await closedSocket(tunnel);
    await eventually(async () => proxy.usage().refused === 1, { what: "the refusal to be counted" });
    expect(received()).toBe(0);
  });

  it.each(["socket", "forwarder"] as const)("that are none, the job half-closing at once, pass on: the host may speak first, and its answer reaches the job (through the %s)", async (through) => {
    const { proxy, tunnel } = await tunnelToBannerHost(through);
    const chunks: Buffer[] = [];
    tunnel.on("data", (chunk: Buffer) => chunks.push(chunk));
    tunnel.end();
    await closedSocket(tunnel);
    expect(Buffer.concat(chunks).toString()).toBe("BANNER after your EOF\n");
    expect(proxy.usage().refused).toBe(0);
  });
});
