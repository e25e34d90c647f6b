// Is an IP address one a webhook may be sent to, or a job's egress may reach? The table is IANA's own:
//   IPv4 Special-Purpose Address Registry, https://www.iana.org/assignments/iana-ipv4-special-registry
//   IPv6 Special-Purpose Address Registry, https://www.iana.org/assignments/iana-ipv6-special-registry
// (both as updated 2025-10-09). An address is judged by the most specific entry
// that holds it, and only an entry marked "Globally Reachable: True" lets it
// through; "False" and "N/A" (6to4, Teredo, the deprecated 6to4 relay) block it.
// Two rules from IANA's neighbouring registries close what those two leave open:
// IPv4 multicast (224.0.0.0/4, the IPv4 Multicast Address Space Registry), and
// IPv6 outside 2000::/3, the only block the IPv6 Address Space Registry gives to
// global unicast (the rest is reserved, unique-local, link-local or multicast).
// Pure.

export interface SpecialPurposeEntry {
  block: string;
  name: string;
  rfc: string;
  globallyReachable: boolean | "n/a";
  /** Where the address carries an IPv4 address (NAT64): that one must be public too. */
  embedsIpv4?: true;
}

export const ipv4SpecialPurpose: readonly SpecialPurposeEntry[] = [
  { block: "0.0.0.0/8", name: '"This network"', rfc: "RFC 791", globallyReachable: false },
  { block: "0.0.0.0/32", name: '"This host on this network"', rfc: "RFC 1122", globallyReachable: false },
  { block: "10.0.0.0/8", name: "Private-Use", rfc: "RFC 1918", globallyReachable: false },
  { block: "100.64.0.0/10", name: "Shared Address Space", rfc: "RFC 6598", globallyReachable: false },
  { block: "127.0.0.0/8", name: "Loopback", rfc: "RFC 1122", globallyReachable: false },
  { block: "169.254.0.0/16", name: "Link Local", rfc: "RFC 3927", globallyReachable: false },
  { block: "172.16.0.0/12", name: "Private-Use", rfc: "RFC 1918", globallyReachable: false },
  { block: "192.0.0.0/24", name: "IETF Protocol Assignments", rfc: "RFC 6890", globallyReachable: false },
  { block: "192.0.0.0/29", name: "IPv4 Service Continuity Prefix", rfc: "RFC 7335", globallyReachable: false },
  { block: "192.0.0.8/32", name: "IPv4 dummy address", rfc: "RFC 7600", globallyReachable: false },
  { block: "192.0.0.9/32", name: "Port Control Protocol Anycast", rfc: "RFC 7723", globallyReachable: true },
  { block: "192.0.0.10/32", name: "Traversal Using Relays around NAT Anycast", rfc: "RFC 8155", globallyReachable: true },
  { block: "192.0.0.170/32", name: "NAT64/DNS64 Discovery", rfc: "RFC 7050", globallyReachable: false },
  { block: "192.0.0.171/32", name: "NAT64/DNS64 Discovery", rfc: "RFC 7050", globallyReachable: false },
  { block: "192.0.2.0/24", name: "Documentation (TEST-NET-1)", rfc: "RFC 5737", globallyReachable: false },
  { block: "192.31.196.0/24", name: "AS112-v4", rfc: "RFC 7535", globallyReachable: true },
  { block: "192.52.193.0/24", name: "AMT", rfc: "RFC 7450", globallyReachable: true },
  { block: "192.88.99.0/24", name: "Deprecated (6to4 Relay Anycast)", rfc: "RFC 7526", globallyReachable: "n/a" },
  { block: "192.88.99.2/32", name: "6a44-relay anycast address", rfc: "RFC 6751", globallyReachable: false },
  { block: "192.168.0.0/16", name: "Private-Use", rfc: "RFC 1918", globallyReachable: false },
  { block: "192.175.48.0/24", name: "Direct Delegation AS112 Service", rfc: "RFC 7534", globallyReachable: true },
  { block: "198.18.0.0/15", name: "Benchmarking", rfc: "RFC 2544", globallyReachable: false },
  { block: "198.51.100.0/24", name: "Documentation (TEST-NET-2)", rfc: "RFC 5737", globallyReachable: false },
  { block: "203.0.113.0/24", name: "Documentation (TEST-NET-3)", rfc: "RFC 5737", globallyReachable: false },
  { block: "240.0.0.0/4", name: "Reserved", rfc: "RFC 1112", globallyReachable: false },
  { block: "255.255.255.255/32", name: "Limited Broadcast", rfc: "RFC 919", globallyReachable: false },
];

export const ipv6SpecialPurpose: readonly SpecialPurposeEntry[] = [
  { block: "::1/128", name: "Loopback Address", rfc: "RFC 4291", globallyReachable: false },
  { block: "::/128", name: "Unspecified Address", rfc: "RFC 4291", globallyReachable: false },
  { block: "::ffff:0:0/96", name: "IPv4-mapped Address", rfc: "RFC 4291", globallyReachable: false },
  { block: "64:ff9b::/96", name: "IPv4-IPv6 Translat.", rfc: "RFC 6052", globallyReachable: true, embedsIpv4: true },
  { block: "64:ff9b:1::/48", name: "IPv4-IPv6 Translat.", rfc: "RFC 8215", globallyReachable: false },
  { block: "100::/64", name: "Discard-Only Address Block", rfc: "RFC 6666", globallyReachable: false },
  { block: "100:0:0:1::/64", name: "Dummy IPv6 Prefix", rfc: "RFC 9780", globallyReachable: false },
  { block: "2001::/23", name: "IETF Protocol Assignments", rfc: "RFC 2928", globallyReachable: false },
  { block: "2001::/32", name: "TEREDO", rfc: "RFC 4380", globallyReachable: "n/a" },
  { block: "2001:1::1/128", name: "Port Control Protocol Anycast", rfc: "RFC 7723", globallyReachable: true },
  { block: "2001:1::2/128", name: "Traversal Using Relays around NAT Anycast", rfc: "RFC 8155", globallyReachable: true },
  { block: "2001:1::3/128", name: "DNS-SD Service Registration Protocol Anycast", rfc: "RFC 9665", globallyReachable: true },
  { block: "2001:2::/48", name: "Benchmarking", rfc: "RFC 5180", globallyReachable: false },
  { block: "2001:3::/32", name: "AMT", rfc: "RFC 7450", globallyReachable: true },
  { block: "2001:4:112::/48", name: "AS112-v6", rfc: "RFC 7535", globallyReachable: true },
  { block: "2001:10::/28", name: "Deprecated (previously ORCHID)", rfc: "RFC 4843", globallyReachable: false },
  { block: "2001:20::/28", name: "ORCHIDv2", rfc: "RFC 7343", globallyReachable: true },
  { block: "2001:30::/28", name: "Drone Remote ID Protocol Entity Tags (DETs) Prefix", rfc: "RFC 9374", globallyReachable: true },
  { block: "2001:db8::/32", name: "Documentation", rfc: "RFC 3849", globallyReachable: false },
  { block: "2002::/16", name: "6to4", rfc: "RFC 3056", globallyReachable: "n/a" },
  { block: "2620:4f:8000::/48", name: "Direct Delegation AS112 Service", rfc: "RFC 7534", globallyReachable: true },
  { block: "3fff::/20", name: "Documentation", rfc: "RFC 9637", globallyReachable: false },
  { block: "5f00::/16", name: "Segment Routing (SRv6) SIDs", rfc: "RFC 9602", globallyReachable: false },
  { block: "fc00::/7", name: "Unique-Local", rfc: "RFC 4193", globallyReachable: false },
  { block: "fe80::/10", name: "Link-Local Unicast", rfc: "RFC 4291", globallyReachable: false },
];

interface Block {
  base: bigint;
  bits: number;
  width: 32 | 128;
  entry: SpecialPurposeEntry;
}

const IPV4_MULTICAST = { base: 0xe0000000n, bits: 4 };
const IPV6_GLOBAL_UNICAST = { base: 0x2000n << 112n, bits: 3 };

function parseV4(ip: string): bigint | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256n + BigInt(part);
  }
  return value;
}

/** An IPv6 address as a 128-bit number, or undefined if malformed. */
function parseV6(ip: string): bigint | undefined {
  let text = ip.toLowerCase();
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseV4(dotted[1]!);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function toBlock(entry: SpecialPurposeEntry, width: 32 | 128): Block {
  const [address, bits] = entry.block.split("/") as [string, string];
  const base = width === 32 ? parseV4(address) : parseV6(address);
  if (base === undefined) throw new Error(`bad registry entry ${entry.block}`);
  return { base, bits: Number(bits), width, entry };
}

const blocks: readonly Block[] = [...ipv4SpecialPurpose.map((e) => toBlock(e, 32)), ...ipv6SpecialPurpose.map((e) => toBlock(e, 128))];

function inBlock(ip: bigint, width: 32 | 128, block: { base: bigint; bits: number }): boolean {
  const shift = BigInt(width - block.bits);
  return ip >> shift === block.base >> shift;
}

/** The most specific registry entry holding the address, if any. */
function entryFor(ip: bigint, width: 32 | 128): SpecialPurposeEntry | undefined {
  let best: Block | undefined;
  for (const block of blocks) {
    if (block.width === width && inBlock(ip, width, block) && (!best || block.bits > best.bits)) best = block;
  }
  return best?.entry;
}

function isBlockedV4(ip: bigint): boolean {
  if (inBlock(ip, 32, IPV4_MULTICAST)) return true;
  const entry = entryFor(ip, 32);
  return entry !== undefined && entry.globallyReachable !== true;
}

function isBlockedV6(ip: bigint): boolean {
  const entry = entryFor(ip, 128);
  if (entry) {
    if (entry.globallyReachable !== true) return true;
    return entry.embedsIpv4 === true && isBlockedV4(ip & 0xffffffffn);
  }
  return !inBlock(ip, 128, IPV6_GLOBAL_UNICAST);
}

export type IpVerdict = "public" | "blocked" | "not-an-ip";

export function classifyIp(ip: string): IpVerdict {
  const bare = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const v4 = parseV4(bare);
  if (v4 !== undefined) return isBlockedV4(v4) ? "blocked" : "public";
  if (bare.includes(":")) {
    const v6 = parseV6(bare);
    if (v6 === undefined) return "not-an-ip";
    return isBlockedV6(v6) ? "blocked" : "public";
  }
  return "not-an-ip";
}
