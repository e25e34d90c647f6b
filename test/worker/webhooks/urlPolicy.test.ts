import { describe, expect, it } from "vitest";
import { assertWebhookUrlAllowed, type ResolveHost } from "../../../worker/webhooks/urlPolicy.ts";

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

  it("refuses internal names written with a trailing dot or in capitals, without resolving them", async () => {
    const never: ResolveHost = async () => {
      throw new Error("should not resolve");
    };
    for (const url of ["https://db.internal./", "https://db.internal../", "https://LOCALHOST./", "https://Printer.Local/", "https://router.home.arpa./"]) {
      await expect(assertWebhookUrlAllowed(url, production(never)), url).rejects.toThrow(/publicly/);
    }
  });

  it("refuses IPv6 literals that hide a private IPv4 address or sit in special-purpose space", async () => {
    const never: ResolveHost = async () => {
      throw new Error("should not resolve");
    };
    for (const url of ["https://[::ffff:0:7f00:1]/", "https://[::ffff:127.0.0.1]/", "https://[100::1]/", "https://[2001:2::1]/", "https://[2001:10::1]/"]) {
      await expect(assertWebhookUrlAllowed(url, production(never)), url).rejects.toThrow(/private|special-purpose/);
    }
  });

  it("resolves a name with a trailing dot as the same name", async () => {
    const asked: string[] = [];
    const resolve: ResolveHost = async (host) => {
      asked.push(host);
      return ["93.184.216.34"];
    };
    await assertWebhookUrlAllowed("https://Hooks.Example.com./x", production(resolve));
    expect(asked).toEqual(["hooks.example.com"]);
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
