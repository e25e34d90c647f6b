// Every entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (as updated 2025-10-09), written out here by hand from the registries, with
// the first and last address of its block and what a webhook to it gets: only
// "Globally Reachable: True" passes, and the most specific entry decides.
import { describe, expect, it } from "vitest";
import { classifyIp, ipv4SpecialPurpose, ipv6SpecialPurpose } from "../../protocol/ipRanges.ts";

type Row = [block: string, first: string, last: string, verdict: "public" | "blocked"];

const ipv4Registry: Row[] = [
  ["0.0.0.0/8", "0.0.0.0", "0.255.255.255", "blocked"],
  ["0.0.0.0/32", "0.0.0.0", "0.0.0.0", "blocked"],
  ["10.0.0.0/8", "10.0.0.0", "10.255.255.255", "blocked"],
  ["100.64.0.0/10", "100.64.0.0", "100.127.255.255", "blocked"],
  ["127.0.0.0/8", "127.0.0.0", "127.255.255.255", "blocked"],
  ["169.254.0.0/16", "169.254.0.0", "169.254.255.255", "blocked"],
  ["172.16.0.0/12", "172.16.0.0", "172.31.255.255", "blocked"],
  ["192.0.0.0/24", "192.0.0.0", "192.0.0.255", "blocked"],
  ["192.0.0.0/29", "192.0.0.0", "192.0.0.7", "blocked"],
  ["192.0.0.8/32", "192.0.0.8", "192.0.0.8", "blocked"],
  ["192.0.0.9/32", "192.0.0.9", "192.0.0.9", "public"],
  ["192.0.0.10/32", "192.0.0.10", "192.0.0.10", "public"],
  ["192.0.0.170/32", "192.0.0.170", "192.0.0.170", "blocked"],
  ["192.0.0.171/32", "192.0.0.171", "192.0.0.171", "blocked"],
  ["192.0.2.0/24", "192.0.2.0", "192.0.2.255", "blocked"],
  ["192.31.196.0/24", "192.31.196.0", "192.31.196.255", "public"],
  ["192.52.193.0/24", "192.52.193.0", "192.52.193.255", "public"],
  ["192.88.99.0/24", "192.88.99.0", "192.88.99.255", "blocked"],
  ["192.88.99.2/32", "192.88.99.2", "192.88.99.2", "blocked"],
  ["192.168.0.0/16", "192.168.0.0", "192.168.255.255", "blocked"],
  ["192.175.48.0/24", "192.175.48.0", "192.175.48.255", "public"],
  ["198.18.0.0/15", "198.18.0.0", "198.19.255.255", "blocked"],
  ["198.51.100.0/24", "198.51.100.0", "198.51.100.255", "blocked"],
  ["203.0.113.0/24", "203.0.113.0", "203.0.113.255", "blocked"],
  ["240.0.0.0/4", "240.0.0.0", "255.255.255.254", "blocked"],
  ["255.255.255.255/32", "255.255.255.255", "255.255.255.255", "blocked"],
];

const ipv6Registry: Row[] = [
  ["::1/128", "::1", "::1", "blocked"],
  ["::/128", "::", "::", "blocked"],
  ["::ffff:0:0/96", "::ffff:0.0.0.0", "::ffff:255.255.255.255", "blocked"],
  // NAT64 of a public IPv4 address is that address; of a private one, blocked (below).
  ["64:ff9b::/96", "64:ff9b::8.8.8.8", "64:ff9b::1.1.1.1", "public"],
  ["64:ff9b:1::/48", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["100::/64", "100::", "100::ffff:ffff:ffff:ffff", "blocked"],
  ["100:0:0:1::/64", "100:0:0:1::", "100:0:0:1:ffff:ffff:ffff:ffff", "blocked"],
  ["2001::/23", "2001::", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["2001::/32", "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["2001:1::1/128", "2001:1::1", "2001:1::1", "public"],
  ["2001:1::2/128", "2001:1::2", "2001:1::2", "public"],
  ["2001:1::3/128", "2001:1::3", "2001:1::3", "public"],
  ["2001:2::/48", "2001:2::", "2001:2:0:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["2001:3::/32", "2001:3::", "2001:3:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:4:112::/48", "2001:4:112::", "2001:4:112:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:10::/28", "2001:10::", "2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["2001:20::/28", "2001:20::", "2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:30::/28", "2001:30::", "2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", "public"],
  ["2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["2002::/16", "2002::", "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["2620:4f:8000::/48", "2620:4f:8000::", "2620:4f:8000:ffff:ffff:ffff:ffff:ffff", "public"],
  ["3fff::/20", "3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["5f00::/16", "5f00::", "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
  ["fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "blocked"],
];

describe("the IANA special-purpose registries", () => {
  it("are the table, entry for entry", () => {
    expect(ipv4SpecialPurpose.map((e) => e.block)).toEqual(ipv4Registry.map(([block]) => block));
    expect(ipv6SpecialPurpose.map((e) => e.block)).toEqual(ipv6Registry.map(([block]) => block));
  });

  it.each([...ipv4Registry, ...ipv6Registry])("%s: %s and %s are %s", (_block, first, last, verdict) => {
    expect(classifyIp(first)).toBe(verdict);
    expect(classifyIp(last)).toBe(verdict);
  });
});

describe("classifyIp", () => {
  it.each([
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "239.255.255.255",
    "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:8.8.8.8", "64:ff9b::10.0.0.1", "[::1]", "ff02::1",
    "[::ffff:0:7f00:1]", // IPv4-translated (SIIT) 127.0.0.1: outside 2000::/3
    "::7f00:1", // IPv4-compatible (deprecated) 127.0.0.1
    "100::1", // discard-only
    "2001:2::1", // benchmarking
    "2001:10::1", // ORCHID (deprecated)
    "2002:a00:1::1", // 6to4 around 10.0.0.1
    "2002:808:808::1", // 6to4 around a public address: 6to4 is not globally reachable (N/A, deprecated)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
    "fec0::1", // site-local (deprecated, outside 2000::/3)
    "4000::1", // unallocated, outside 2000::/3
    "64:ff9b:1::a00:1", // local-use NAT64
  ])("blocks %s", (ip) => expect(classifyIp(ip)).toBe("blocked"));

  it.each(["8.8.8.8", "1.1.1.1", "172.32.0.1", "223.255.255.255", "2606:4700:4700::1111", "[2606:4700:4700::1111]", "64:ff9b::808:808"])("allows %s", (ip) =>
    expect(classifyIp(ip)).toBe("public"),
  );

  it.each(["example.com", "1.2.3", "256.1.1.1", ":::1", "1:2:3:4:5:6:7:8:9"])("does not mistake %s for an IP", (value) => expect(classifyIp(value)).toBe("not-an-ip"));
});
