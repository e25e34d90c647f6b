// The egress proxy against real sockets: a local HTTP/HTTPS hub on 127.0.0.1,
// real clients on the proxy's unix socket. Names are resolved by an injected
// resolver (there is no DNS here); 127.0.0.1 counts as reachable only where a
// test names it in allowAddresses, and one test shows the default refuses it.
// Its limits (budget, connections, hostile jobs) are in proxyLimits.test.ts.
import { existsSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { parseEgressRules } from "../../../protocol/egress.ts";
import { EgressProxy } from "../../../provider/egress/proxy.ts";
import { eventually } from "../../helpers/eventually.ts";
import { freePort } from "../../helpers/freePort.ts";
import { connectVia, httpsVia, httpVia } from "./client.ts";
import { closedSocket, resolverOf, silent, useEgressHarness } from "./harness.ts";
import { type Hub, pattern } from "./hub.ts";

const { startProxy, dir, ...harness } = useEgressHarness();
let hub: Hub;
beforeAll(() => {
  hub = harness.hub();
});

describe("an allowed host", () => {
  it("is reached by name over HTTPS through CONNECT, every byte on the wire counted", async () => {
    const resolver = resolverOf({ "hub.test": ["127.0.0.1"] });
    const { proxy, socketPath } = await startProxy({ resolve: resolver.resolve });
    const closedBefore = hub.closed.length;
    const answer = await httpsVia(socketPath, "hub.test", hub.httpsPort, hub.cert, "/bytes/100000");
    expect(answer.status).toBe(200);
    expect(answer.body.equals(pattern(0, 100_000))).toBe(true);
    expect(resolver.calls).toEqual(["hub.test"]);
    const wire = await eventually(async () => hub.closed.slice(closedBefore).find((socket) => socket.server === "https"), { what: "the hub's TLS connection to close" });
    await eventually(async () => proxy.usage().hosts[0]?.bytes_in === wire.written, { what: "the proxy to count every byte" });
    expect(proxy.usage()).toEqual({ hosts: [{ host: "hub.test", port: hub.httpsPort, connections: 1, bytes_out: wire.read, bytes_in: wire.written }], refused: 0 });
  });

  it("is reached by name over plain HTTP, the answer streamed and counted", async () => {
    const { proxy, socketPath } = await startProxy();
    const closedBefore = hub.closed.length;
    const answer = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/bytes/300000`, { headers: { host: `hub.test:${hub.httpPort}` } });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(pattern(0, 300_000))).toBe(true);
    const wire = await eventually(async () => hub.closed.slice(closedBefore).find((socket) => socket.server === "http"), { what: "the hub's connection to close" });
    await eventually(async () => proxy.usage().hosts[0]?.bytes_out === wire.read, { what: "the proxy to count the request's bytes" });
    expect(proxy.usage().hosts).toEqual([{ host: "hub.test", port: hub.httpPort, connections: 1, bytes_out: wire.read, bytes_in: wire.written }]);
  });

  it("streams a request body to the host and its answer back", async () => {
    const { socketPath } = await startProxy();
    const body = pattern(7, 200_000);
    const answer = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/echo`, { method: "POST", body, headers: { host: `hub.test:${hub.httpPort}` } });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(body)).toBe(true);
  });

  it("gets the URL's host as Host, whatever the job wrote, and never the hop-by-hop headers", async () => {
    const { socketPath } = await startProxy();
    const answer = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/hello`, {
      headers: {
        host: `other.test:${hub.httpPort}`,
        "proxy-authorization": "Basic c2VjcmV0",
        "proxy-connection": "keep-alive",
        connection: "x-private",
        "x-private": "named by Connection",
        "x-kept": "yes",
      },
    });
    expect(answer.body.toString()).toBe(`hello from hub.test:${hub.httpPort}`);
    const seen = hub.seen.at(-1)!;
    expect(seen.host).toBe(`hub.test:${hub.httpPort}`);
    expect(seen.headers["x-kept"]).toBe("yes");
    expect(Object.keys(seen.headers).filter((name) => ["proxy-authorization", "proxy-connection", "x-private"].includes(name))).toEqual([]);
    // The hub's answer named x-hop in Connection: the job does not get it.
    expect(answer.headers["x-hop"]).toBeUndefined();
  });
});

describe("a connection the proxy refuses", () => {
  it("names another host on the same server (403), and the server never hears of it", async () => {
    const resolver = resolverOf({ "hub.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });
    const { proxy, socketPath } = await startProxy({ resolve: resolver.resolve });
    const seenBefore = hub.seen.length;
    const tunnel = await connectVia(socketPath, `other.test:${hub.httpsPort}`);
    expect(tunnel).toMatchObject({ status: 403, body: `other.test:${hub.httpsPort} is not in this job's network allow list` });
    const plain = await httpVia(socketPath, `http://other.test:${hub.httpPort}/hello`, { headers: { host: `other.test:${hub.httpPort}` } });
    expect(plain.status).toBe(403);
    expect(hub.seen.length).toBe(seenBefore);
    expect(resolver.calls).toEqual([]);
    // The job's creator sees which hosts were refused and why (metrics.egress.refusals).
    expect(proxy.usage()).toEqual({
      hosts: [],
      refused: 2,
      refusals: [
        { host: "other.test", port: hub.httpsPort, status: 403, reason: `other.test:${hub.httpsPort} is not in this job's network allow list`, count: 1 },
        { host: "other.test", port: hub.httpPort, status: 403, reason: `other.test:${hub.httpPort} is not in this job's network allow list`, count: 1 },
      ],
    });
  });

  it("names a host the provider denies, even where the job's rules allow it, on any port", async () => {
    const { socketPath } = await startProxy({ deny: parseEgressRules(["hub.test"]) });
    const answer = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(answer).toMatchObject({ status: 403, body: "hub.test is a host this provider never allows" });
  });

  it("names an IP address, even one development allows", async () => {
    const { socketPath } = await startProxy({ rules: parseEgressRules([`hub.test:${hub.httpsPort}`]) });
    for (const target of [`127.0.0.1:${hub.httpsPort}`, `[::1]:${hub.httpsPort}`]) {
      const answer = await connectVia(socketPath, target);
      expect(answer, target).toMatchObject({ status: 403, body: expect.stringContaining("IP address") });
    }
    // The URL parser reads 0x7f.1 as 127.0.0.1: still an address, still refused.
    for (const url of [`http://127.0.0.1:${hub.httpPort}/hello`, `http://0x7f.1:${hub.httpPort}/hello`]) {
      const answer = await httpVia(socketPath, url, { headers: { host: "hub.test" } });
      expect(answer.status, url).toBe(403);
    }
  });

  it("names a host that resolves only to private, link-local, unique-local or mapped loopback addresses", async () => {
    const privates = ["10.1.2.3", "192.168.7.8", "169.254.169.254", "::ffff:127.0.0.1", "fd00::1", "::1", "100.64.0.1"];
    const answers = Object.fromEntries(privates.map((address, i) => [`p${i}.hub.test`, [address]]));
    const { proxy, socketPath } = await startProxy({ rules: parseEgressRules([`*.hub.test:${hub.httpsPort}`]), resolve: resolverOf(answers).resolve });
    for (const [i, address] of privates.entries()) {
      const answer = await connectVia(socketPath, `p${i}.hub.test:${hub.httpsPort}`);
      expect(answer, address).toMatchObject({ status: 403, body: `p${i}.hub.test resolves only to non-public addresses` });
    }
    expect(proxy.usage().refused).toBe(privates.length);
  });

  it("names a host on loopback when no address is allowed explicitly: the default reaches no 127.0.0.1", async () => {
    const { socketPath } = await startProxy({ allowAddresses: undefined });
    const connectionsBefore = hub.closed.length + hub.openSockets();
    const answer = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(answer).toMatchObject({ status: 403, body: "hub.test resolves only to non-public addresses" });
    const plain = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/hello`, { headers: { host: "hub.test" } });
    expect(plain.status).toBe(403);
    expect(hub.closed.length + hub.openSockets()).toBe(connectionsBefore);
  });

  it("keeps only the reachable addresses of a mixed answer and connects to the first of them", async () => {
    const { socketPath } = await startProxy({ resolve: resolverOf({ "hub.test": ["10.1.2.3", "127.0.0.1"] }).resolve });
    const answer = await httpsVia(socketPath, "hub.test", hub.httpsPort, hub.cert, "/hello");
    expect(answer.body.toString()).toBe("hello from hub.test");
  });

  it("resolves again at every connection, so an answer that turns private (DNS rebinding) is refused", async () => {
    const answers = [["127.0.0.1"], ["10.1.2.3"]];
    const resolver = resolverOf({ "hub.test": () => answers.shift() ?? [] });
    const { socketPath } = await startProxy({ resolve: resolver.resolve });
    const first = await httpsVia(socketPath, "hub.test", hub.httpsPort, hub.cert, "/hello");
    expect(first.status).toBe(200);
    const second = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(second).toMatchObject({ status: 403, body: "hub.test resolves only to non-public addresses" });
    expect(resolver.calls).toEqual(["hub.test", "hub.test"]);
  });

  it("answers 502 for a host that does not resolve or does not accept the connection", async () => {
    const closedPort = await freePort();
    const { proxy, socketPath } = await startProxy({
      rules: parseEgressRules([`hub.test:${closedPort}`, `gone.test:${hub.httpsPort}`]),
      resolve: resolverOf({ "hub.test": ["127.0.0.1"] }).resolve,
    });
    expect(await connectVia(socketPath, `hub.test:${closedPort}`)).toMatchObject({ status: 502, body: `could not connect to hub.test:${closedPort} (ECONNREFUSED)` });
    expect(await connectVia(socketPath, `gone.test:${hub.httpsPort}`)).toMatchObject({ status: 502, body: "gone.test could not be resolved" });
    expect((await httpVia(socketPath, `http://hub.test:${closedPort}/`, { headers: { host: "hub.test" } })).status).toBe(502);
    expect(proxy.usage().refused).toBe(3);
  });

  it("is not a proxy request: origin form and https URLs get 400", async () => {
    const { socketPath } = await startProxy();
    const origin = await httpVia(socketPath, "/hello", { headers: { host: "hub.test" } });
    expect(origin.status).toBe(400);
    expect(origin.body.toString()).toContain("absolute-form");
    const https = await httpVia(socketPath, `https://hub.test:${hub.httpsPort}/hello`, { headers: { host: "hub.test" } });
    expect(https.status).toBe(400);
    expect((await connectVia(socketPath, "hub.test")).status).toBe(400);
  });
});

describe("closing", () => {
  it("ends every open tunnel and stops listening, the socket file gone", async () => {
    const { proxy, socketPath } = await startProxy();
    const tunnel = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(tunnel.status).toBe(200);
    expect(existsSync(socketPath)).toBe(true);
    await proxy.close();
    await closedSocket(tunnel.socket);
    expect(existsSync(socketPath)).toBe(false);
    await expect(connectVia(socketPath, `hub.test:${hub.httpsPort}`)).rejects.toMatchObject({ code: "ENOENT" });
    await eventually(async () => hub.openSockets() === 0, { what: "the hub's side of the tunnel to close" });
  });

  it("ends a tunnel that moves no byte for its idle timeout", async () => {
    const { socketPath } = await startProxy({ idleTimeoutMs: 300 });
    const tunnel = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
    expect(tunnel.status).toBe(200);
    await closedSocket(tunnel.socket);
    await eventually(async () => hub.openSockets() === 0, { what: "the hub's side of the idle tunnel to close" });
  });

  it("ends a plain HTTP request whose host sends nothing for the idle timeout", async () => {
    const { socketPath } = await startProxy({ idleTimeoutMs: 300 });
    const outcome = await httpVia(socketPath, `http://hub.test:${hub.httpPort}/hold`, { headers: { host: "hub.test" } }).then(
      (answer) => `${answer.status} ${answer.body.toString().trim()}`,
      () => "cut",
    );
    expect(outcome).toBe(`502 hub.test:${hub.httpPort} did not answer (no byte either way for 300 ms)`);
  });

  it("starts over a stale socket file, but never removes a file that is not a socket", async () => {
    // A listener removes its file when it closes; one whose file was moved away first leaves it behind, as a killed daemon does.
    const leftover = createServer();
    await new Promise<void>((resolve) => leftover.listen(join(dir(), "moved.sock"), resolve));
    await rename(join(dir(), "moved.sock"), join(dir(), "egress.sock"));
    await new Promise((resolve) => leftover.close(resolve));
    expect(existsSync(join(dir(), "egress.sock"))).toBe(true);
    const { socketPath } = await startProxy({ socketPath: join(dir(), "egress.sock") });
    expect((await httpsVia(socketPath, "hub.test", hub.httpsPort, hub.cert, "/hello")).status).toBe(200);

    const regular = join(dir(), "not-a-socket");
    await writeFile(regular, "keep me");
    const proxy = new EgressProxy({ socketPath: regular, rules: [], budgetBytes: 1, maxConnections: 1, log: silent });
    await expect(proxy.start()).rejects.toThrow("exists and is not a socket");
    expect(existsSync(regular)).toBe(true);
  });
});

describe("the proxy's log", () => {
  it("names hosts, ports, byte counts and reasons, never what a request carries", async () => {
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
    const { socketPath } = await startProxy({ log });
    await httpsVia(socketPath, "hub.test", hub.httpsPort, hub.cert, "/SECRET-TLS-PATH");
    await httpVia(socketPath, `http://hub.test:${hub.httpPort}/echo?token=SECRET-QUERY`, { method: "POST", body: Buffer.from("SECRET-BODY"), headers: { host: "hub.test", authorization: "Bearer SECRET-TOKEN" } });
    await connectVia(socketPath, `other.test:${hub.httpsPort}`);
    await eventually(async () => lines.some((line) => line.includes("egress tunnel closed")), { what: "the tunnel's log line" });
    const text = lines.join("");
    expect(text).toContain("hub.test");
    expect(text).toContain(`"reason":"other.test:${hub.httpsPort} is not in this job's network allow list"`);
    expect(text).not.toMatch(/SECRET/);
  });
});
