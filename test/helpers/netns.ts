// A small internet in network namespaces, made and removed by the test itself:
//
//   hostA (10.254.1.2) ── routerA ══╗                      ╔══ routerB ── hostB (10.254.2.2)
//                         NAT   198.51.100.2 ─ public ─ 198.51.100.6   NAT
//                                         (198.51.100.100: TURN, signaling)
//                                                  │
//                                     sink (198.51.100.10: where private destinations vanish)
//
// The routers masquerade their LAN behind their WAN address: plain MASQUERADE
// behaves as a port-restricted cone NAT (hole punching works); with
// --random-fully every destination gets a new random port, a symmetric NAT
// (only a TURN relay gets through). Nothing here routes to any real network:
// the namespaces have no link to the machine's own interfaces. Addresses are
// from 10.254.0.0/16 and TEST-NET-2 (198.51.100.0/24).
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export type NatKind = "cone" | "symmetric";

export const PUBLIC_SERVICE_ADDRESS = "198.51.100.100";

export interface NatTopology {
  namespaces: { public: string; routerA: string; routerB: string; hostA: string; hostB: string; sink: string };
  /** The argv prefix that runs a command inside namespace `ns`. */
  inside(ns: string, command: string, ...args: string[]): [string, string[]];
  /** Removes every namespace (their links, addresses and iptables rules go with them). */
  teardown(): Promise<void>;
}

/** Why namespaces cannot be made here, or undefined when they can. */
export async function namespacesUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "network namespaces need root (ip netns add); run the tests as root to include the NAT cases";
  const probe = `pondt${process.pid % 100000}probe`;
  try {
    await ip("netns", "add", probe);
    await ip("netns", "del", probe);
  } catch (error) {
    return `cannot create a network namespace here: ${(error as Error).message.trim()}`;
  }
  for (const tool of ["iptables", "turnserver"]) {
    try {
      await run("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `${tool} is missing (Debian: apt-get install -y --no-install-recommends ${tool === "turnserver" ? "coturn" : tool}; scripts/bootstrap.sh installs it)`;
    }
  }
  return undefined;
}

export async function createNatTopology(nat: NatKind): Promise<NatTopology> {
  const id = `${process.pid % 10000}${Math.floor(Math.random() * 100)}`;
  const ns = { public: `pondt${id}pub`, routerA: `pondt${id}ra`, routerB: `pondt${id}rb`, hostA: `pondt${id}ha`, hostB: `pondt${id}hb`, sink: `pondt${id}sink` };
  const created: string[] = [];
  const topology: NatTopology = {
    namespaces: ns,
    inside: (name, command, ...args) => ["ip", ["netns", "exec", name, command, ...args]],
    async teardown() {
      for (const name of created.splice(0).reverse()) await ip("netns", "del", name).catch(() => {});
    },
  };
  try {
    for (const name of Object.values(ns)) {
      await ip("netns", "add", name);
      created.push(name);
      await ip("-n", name, "link", "set", "lo", "up");
      // IPv4 only: no link-local IPv6 candidates to muddy which path ICE picks.
      await inNs(name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }
    await ip("-n", ns.public, "addr", "add", `${PUBLIC_SERVICE_ADDRESS}/32`, "dev", "lo");

    let link = 0;
    // A veth pair is made in the root namespace under a throwaway unique name and moved at once.
    const connect = async (a: string, aName: string, aAddr: string, b: string, bName: string, bAddr: string) => {
      const left = `pt${id}${link++}`;
      const right = `pt${id}${link++}`;
      await ip("link", "add", left, "netns", a, "type", "veth", "peer", "name", right, "netns", b);
      await ip("-n", a, "link", "set", left, "name", aName);
      await ip("-n", b, "link", "set", right, "name", bName);
      await ip("-n", a, "addr", "add", aAddr, "dev", aName);
      await ip("-n", b, "addr", "add", bAddr, "dev", bName);
      await ip("-n", a, "link", "set", aName, "up");
      await ip("-n", b, "link", "set", bName, "up");
    };
    await connect(ns.public, "toA", "198.51.100.1/30", ns.routerA, "wan", "198.51.100.2/30");
    await connect(ns.public, "toB", "198.51.100.5/30", ns.routerB, "wan", "198.51.100.6/30");
    await connect(ns.routerA, "lan", "10.254.1.1/24", ns.hostA, "eth0", "10.254.1.2/24");
    await connect(ns.routerB, "lan", "10.254.2.1/24", ns.hostB, "eth0", "10.254.2.2/24");
    await inNs(ns.public, "sysctl", "-qw", "net.ipv4.ip_forward=1");
    // The internet drops packets for private addresses somewhere along the way, silently: here a host that does not
    // forward. Without it the public side answers "network unreachable", and coturn closes an allocation whose relay
    // send failed (a peer's private host candidate is one such destination).
    await connect(ns.public, "toSink", "198.51.100.9/30", ns.sink, "eth0", "198.51.100.10/30");
    await ip("-n", ns.public, "route", "add", "10.0.0.0/8", "via", "198.51.100.10");
    for (const [router, host, wanGateway, lanGateway] of [
      [ns.routerA, ns.hostA, "198.51.100.1", "10.254.1.1"],
      [ns.routerB, ns.hostB, "198.51.100.5", "10.254.2.1"],
    ] as const) {
      await inNs(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
      await ip("-n", router, "route", "add", "default", "via", wanGateway);
      await ip("-n", host, "route", "add", "default", "via", lanGateway);
      await inNs(router, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE", ...(nat === "symmetric" ? ["--random-fully"] : []));
      // Like a home router, drop what arrives unasked. Besides, a dropped packet leaves no conntrack entry; one that
      // reached the router itself would hold the very port pair the LAN host's own hole-punching packet then needs,
      // and MASQUERADE would move that packet to another port.
      await inNs(router, "iptables", "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP");
    }
    return topology;
  } catch (error) {
    await topology.teardown();
    throw error;
  }
}

async function ip(...args: string[]): Promise<void> {
  await runClearly("ip", args);
}

async function inNs(name: string, command: string, ...args: string[]): Promise<void> {
  await runClearly("ip", ["netns", "exec", name, command, ...args]);
}

async function runClearly(command: string, args: string[]): Promise<void> {
  try {
    await run(command, args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`);
  }
}

export interface RelayOnlyNamespace {
  name: string;
  /** Two local addresses that cannot reach each other: only through the TURN address. */
  peerAddresses: [string, string];
  turnAddress: string;
  teardown(): Promise<void>;
}

/**
 * One namespace where two peers in one process can meet only through a TURN
 * server: on 127.0.0.1 they would find each other directly, even with a
 * relay-only ICE policy (libjuice then moves to a host/peer-reflexive pair).
 */
export async function createRelayOnlyNamespace(): Promise<RelayOnlyNamespace> {
  const name = `pondt${process.pid % 10000}${Math.floor(Math.random() * 100)}relay`;
  const [a, b, turn] = ["10.254.9.1", "10.254.9.2", "10.254.9.100"] as const;
  await ip("netns", "add", name);
  const teardown = () => ip("netns", "del", name).catch(() => {});
  try {
    await ip("-n", name, "link", "set", "lo", "up");
    for (const address of [a, b, turn]) await ip("-n", name, "addr", "add", `${address}/32`, "dev", "lo");
    await inNs(name, "iptables", "-A", "OUTPUT", "-s", a, "-d", b, "-j", "DROP");
    await inNs(name, "iptables", "-A", "OUTPUT", "-s", b, "-d", a, "-j", "DROP");
    return { name, peerAddresses: [a, b], turnAddress: turn, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}
