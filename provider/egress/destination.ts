// May a job's connection go to host:port, and to which address? The name must
// be allowed by the job's rules and not denied by the provider; it is resolved
// afresh for every connection (never cached, so an answer that changes between
// lookups, DNS rebinding, cannot reach a private address), and only public
// addresses, or ones a developer named, are kept.
import { type EgressRule, ruleAllows, rulesAllow } from "../../protocol/egress.ts";
import { classifyIp } from "../../protocol/ipRanges.ts";

export interface DestinationPolicy {
  rules: readonly EgressRule[];
  deny: readonly EgressRule[];
  resolve: (host: string) => Promise<string[]>;
  allowAddresses: readonly string[];
  resolveTimeoutMs: number;
}

export type Destination =
  | { ok: true; host: string; port: number; address: string }
  | { ok: false; status: 400 | 403 | 502; reason: string; /** For the provider's log, never the job's answer. */ addresses?: string[] };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function isHostName(host: string): boolean {
  const labels = host.split(".");
  return host.length <= 253 && labels.every((label) => LABEL.test(label));
}

/** A provider's deny rule without a port denies every port of its host, not just 80 and 443. */
function denies(rule: EgressRule, host: string, port: number): boolean {
  return ruleAllows({ ...rule, port: rule.port ?? port }, host, port);
}

/** `promise`, or a rejection once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function checkDestination(target: string, port: number, policy: DestinationPolicy): Promise<Destination> {
  const host = target.toLowerCase().replace(/\.$/, "");
  if (classifyIp(host) !== "not-an-ip" || /^[0-9.]+$/.test(host) || host.includes(":")) {
    return { ok: false, status: 403, reason: "an IP address is not allowed: a job may reach host names only" };
  }
  if (!isHostName(host)) return { ok: false, status: 400, reason: "the target is not a host name" };
  if (policy.deny.some((rule) => denies(rule, host, port))) {
    return { ok: false, status: 403, reason: `${host} is a host this provider never allows` };
  }
  if (!rulesAllow(policy.rules, host, port)) {
    return { ok: false, status: 403, reason: `${host}:${port} is not in this job's network allow list` };
  }
  let addresses: string[];
  try {
    addresses = await withTimeout(policy.resolve(host), policy.resolveTimeoutMs);
  } catch {
    return { ok: false, status: 502, reason: `${host} could not be resolved` };
  }
  const reachable = addresses.filter(
    (address) => classifyIp(address) === "public" || (classifyIp(address) !== "not-an-ip" && policy.allowAddresses.includes(address)),
  );
  if (addresses.length === 0) return { ok: false, status: 502, reason: `${host} could not be resolved` };
  if (reachable.length === 0) return { ok: false, status: 403, reason: `${host} resolves only to non-public addresses`, addresses };
  return { ok: true, host, port, address: reachable[0]! };
}
