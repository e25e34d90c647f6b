// A job names its image, and so the registry host this provider's Docker engine pulls from. Left unchecked, that
// host could be any machine on the provider's own network (a router's admin page, a metadata service, a registry
// meant for the operator alone), and the pull's error, which the job reports, would tell the creator what answered
// there. So before a pull the daemon resolves the registry's host and pulls only when every address it has is
// public (protocol/ipRanges.ts), or one the operator named for development (a registry on loopback). The engine
// resolves the name again for itself, and follows a registry's redirects for layers where it is told: this closes
// the plain way in, not a registry that answers differently the second time.
import { classifyIp } from "../../protocol/ipRanges.ts";
import { parseImageReference } from "../../protocol/imageReference.ts";
import { withTimeout } from "../egress/destination.ts";
import { egressResolver } from "../egress/resolver.ts";

export interface RegistryHostPolicy {
  /** Addresses counted public though they are not: development and tests only (--registry-allow-addresses). */
  allowAddresses: readonly string[];
  /** Every address `host` has; rejects when it has none. */
  resolve: (host: string) => Promise<string[]>;
}

const RESOLVE_TIMEOUT_MS = 10_000;

/** Public registries only, and these addresses besides; names resolved as the egress proxy resolves them (c-ares, never the threadpool). */
export function registryHostPolicy(allowAddresses: readonly string[] = []): RegistryHostPolicy {
  return { allowAddresses, resolve: egressResolver({ timeoutMs: 5_000 }) };
}

/** The registry host a reference pulls from (no port), or undefined for Docker Hub. */
export function registryHostOf(image: string): string | undefined {
  return parseImageReference(image)?.registryHost;
}

/** Throws, saying why, unless the engine may pull `image` from where its name points. */
export async function checkRegistryHost(image: string, policy: RegistryHostPolicy): Promise<void> {
  const host = registryHostOf(image);
  if (host === undefined) return;
  const reachable = (address: string) => classifyIp(address) === "public" || policy.allowAddresses.includes(address);
  if (classifyIp(host) !== "not-an-ip") {
    if (!reachable(host)) throw new Error(`its registry ${host} is not a public address: this provider pulls images only from public registries`);
    return;
  }
  let addresses: string[];
  try {
    addresses = await withTimeout(policy.resolve(host), RESOLVE_TIMEOUT_MS);
  } catch {
    throw new Error(`its registry ${host} could not be resolved`);
  }
  // Every address: the engine may use any of them.
  if (addresses.length === 0 || !addresses.every(reachable)) {
    throw new Error(`its registry ${host} does not resolve to public addresses only: this provider pulls images only from public registries`);
  }
}
