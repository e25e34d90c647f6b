// How the egress proxy resolves the names jobs ask for: c-ares (node's
// dns.Resolver), whose queries run on the event loop, each lookup on its own.
// Not dns.lookup: that is getaddrinfo on libuv's threadpool, where DNS may use at
// most half the threads, daemon-wide, and waits in one queue behind every other
// job's lookups. A job asking for names that never answer (a wildcard rule
// under a domain whose servers it controls) held those threads for the whole
// system timeout, lookup after lookup: measured here, an honest lookup of
// `localhost` behind 8 such lookups waited 39.8 s. /etc/hosts is not read: a job
// reaches only public addresses anyway (destination.ts), which hosts-file
// names never are.
import { Resolver } from "node:dns/promises";

export interface EgressResolverOptions {
  /** Per query try; the proxy's own resolve timeout bounds the whole lookup. */
  timeoutMs: number;
  /** DNS servers ("127.0.0.1:5353"); default: the system's (/etc/resolv.conf). */
  servers?: readonly string[];
}

/** Every IPv4 and IPv6 address `host` has; rejects when it has neither (the first error, e.g. ENOTFOUND). */
export function egressResolver(options: EgressResolverOptions): (host: string) => Promise<string[]> {
  return async (host) => {
    // One resolver per lookup: its queries end with it, and one job's slow names never queue behind another's.
    const resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
    if (options.servers) resolver.setServers([...options.servers]);
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const addresses = [...(v4.status === "fulfilled" ? v4.value : []), ...(v6.status === "fulfilled" ? v6.value : [])];
    if (addresses.length > 0) return addresses;
    throw v4.status === "rejected" ? v4.reason : (v6 as PromiseRejectedResult).reason;
  };
}
