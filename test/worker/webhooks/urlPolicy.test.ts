import { describe, expect, it } from "vitest";
import { classifyIp } from "../../../worker/webhooks/ipRanges.ts";
import { assertWebhookUrlAllowed, type ResolveHost } from "../../../worker/webhooks/urlPolicy.ts";

describe("classifyIp", () => {
  it.each([
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
    "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::10.0.0.1", "[::1]", "ff02::1",
    "2002:a00:1::1", // 6to4 around 10.0.0.1
    "2002:7f00:1::", // 6to4 around 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
    "fec0::1", // site-local
    "64:ff9b:1::a00:1", // local-use NAT64
  ])("blocks %s", (ip) => expect(classifyIp(ip)).toBe("blocked"));

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"])("allows %s", (ip) => expect(classifyIp(ip)).toBe("public"));

  it.each(["example.com", "1.2.3", "256.1.1.1", ":::1"])("does not mistake %s for an IP", (value) => expect(classifyIp(value)).toBe("not-an-ip"));
});

// DNS-over-HTTPS is a remote service this machine cannot reach: these tests
// stand a resolver function in for it, and say what it answers.
const resolvesTo = (addresses: string[]): ResolveHost => async () => addresses;

describe("assertWebhookUrlAllowed in production", () => {
  const production = (resolve: ResolveHost) => ({ isProduction: true, resolve });

  it("accepts https to a public address", async () => {
    await expect(assertWebhookUrlAllowed("https://hooks.example.com/x", production(resolvesTo(["93.184.216.34"])))).resolves.toBeUndefined();
  });

  it("refuses plain http", async () => {
    await expect(assertWebhookUrlAllowed("http://hooks.example.com/x", production(resolvesTo(["93.184.216.34"])))).rejects.toThrow(/https/);
  });

  it("refuses a host that resolves to a private address, even among public ones", async () => {
    await expect(assertWebhookUrlAllowed("https://rebind.example.com/", production(resolvesTo(["93.184.216.34", "10.0.0.5"])))).rejects.toThrow(/10\.0\.0\.5/);
  });

  it("refuses loopback, link-local and internal names without resolving them", async () => {
    const never: ResolveHost = async () => {
      throw new Error("should not resolve");
    };
    for (const url of ["https://127.0.0.1/", "https://[::1]/", "https://169.254.169.254/latest", "https://localhost/", "https://db.internal/"]) {
      await expect(assertWebhookUrlAllowed(url, production(never)), url).rejects.toThrow(/private|loopback|publicly/);
    }
  });

  it("refuses a host that does not resolve", async () => {
    await expect(assertWebhookUrlAllowed("https://nowhere.example.com/", production(resolvesTo([])))).rejects.toThrow(/does not resolve/);
  });

  it("refuses credentials in the URL", async () => {
    await expect(assertWebhookUrlAllowed("https://user:pw@hooks.example.com/", production(resolvesTo(["93.184.216.34"])))).rejects.toThrow(/credentials/);
  });
});

describe("assertWebhookUrlAllowed in development", () => {
  it("allows loopback http, for local receivers", async () => {
    await expect(assertWebhookUrlAllowed("http://127.0.0.1:9999/hook", { isProduction: false, resolve: resolvesTo([]) })).resolves.toBeUndefined();
  });
});
