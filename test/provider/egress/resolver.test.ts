// The egress proxy's resolver (provider/egress/resolver.ts) against a DNS server
// on loopback: it answers what the server has, fails on what it has not, and a
// job whose names never answer does not hold up another job's: while its 64
// lookups hang, the other job resolves its host and its tunnel goes through.
// (With dns.lookup, the daemon's DNS waited in one queue on libuv's threadpool:
// an honest lookup behind 8 hanging ones took 39.8 s; resolver.ts.)
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseEgressRules } from "../../../protocol/egress.ts";
import { EgressProxy } from "../../../provider/egress/proxy.ts";
import { egressResolver } from "../../../provider/egress/resolver.ts";
import { connectVia } from "./client.ts";
import { silent, useEgressHarness } from "./harness.ts";
import { startDnsServer, type TestDnsServer } from "./dnsServer.ts";

const { startProxy, dir, ...harness } = useEgressHarness();
const servers: TestDnsServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function dns(records: Record<string, string>, blackHoles: string[] = []): Promise<TestDnsServer> {
  const server = await startDnsServer(records, new Set(blackHoles));
  servers.push(server);
  return server;
}

describe("the egress resolver", () => {
  it("answers a name's addresses from its DNS servers, and fails on a name they do not have", async () => {
    const server = await dns({ "hub.test": "127.0.0.1" });
    const resolve = egressResolver({ timeoutMs: 1_000, servers: [server.address] });
    expect(await resolve("hub.test")).toEqual(["127.0.0.1"]);
    await expect(resolve("no-such.test")).rejects.toMatchObject({ code: "ENOTFOUND" });
    expect(server.queries).toContain("no-such.test");
  });

  it("resolves another job's host and opens its tunnel while a hostile job's 64 lookups hang", async () => {
    const hub = harness.hub();
    const server = await dns({ "hub.test": "127.0.0.1" }, Array.from({ length: 64 }, (_, i) => `slow${i}.hostile.test`));
    const resolve = egressResolver({ timeoutMs: 1_500, servers: [server.address] });
    // The hostile job: every connection names a host under its own domain whose server never answers.
    const hostileSocket = join(dir(), "hostile.sock");
    const hostile = new EgressProxy({ socketPath: hostileSocket, rules: parseEgressRules(["*.hostile.test"]), budgetBytes: 1 << 20, maxConnections: 64, resolve, log: silent });
    await hostile.start();
    const { socketPath } = await startProxy({ resolve });
    try {
      const hanging = Array.from({ length: 64 }, (_, i) => connectVia(hostileSocket, `slow${i}.hostile.test:443`));
      let settled = 0;
      for (const attempt of hanging) void attempt.finally(() => (settled += 1));
      await expect.poll(() => server.queries.filter((name) => name.endsWith(".hostile.test")).length).toBeGreaterThanOrEqual(64);

      const tunnel = await connectVia(socketPath, `hub.test:${hub.httpsPort}`);
      expect(tunnel.status).toBe(200);
      tunnel.socket.destroy();
      expect(settled).toBe(0);

      // And the hostile lookups end in time, each refused as unresolvable.
      const answers = await Promise.all(hanging);
      expect(answers.every((answer) => answer.status === 502)).toBe(true);
    } finally {
      await hostile.close();
    }
  });
});
