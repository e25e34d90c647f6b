// Where webhooks may be sent. In production only https to public addresses, so
// a creator cannot make Pond call into a private network (SSRF); checked when an
// endpoint is registered and again before every delivery (DNS can change).
// fetch resolves the name once more itself, so a rebinding answer could still
// slip between check and send; on Cloudflare's edge a Worker's fetch goes out
// to the public internet, not into anyone's private network, which narrows that gap.
import { classifyIp } from "../../protocol/ipRanges.ts";

export type ResolveHost = (hostname: string) => Promise<string[]>;

export class WebhookUrlError extends Error {
  override name = "WebhookUrlError";
}

const internalSuffixes = [".localhost", ".local", ".internal", ".lan", ".home.arpa"];

export async function assertWebhookUrlAllowed(
  rawUrl: string,
  policy: { isProduction: boolean; resolve: ResolveHost },
): Promise<void> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new WebhookUrlError("the webhook URL is not a valid absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new WebhookUrlError("the webhook URL must use https");
  if (url.username || url.password) throw new WebhookUrlError("the webhook URL must not carry credentials");
  if (!policy.isProduction) return;

  if (url.protocol !== "https:") throw new WebhookUrlError("the webhook URL must use https");
  const host = normalizeHost(url.hostname);
  if (host === "" || host === "localhost" || internalSuffixes.some((suffix) => host.endsWith(suffix))) {
    throw new WebhookUrlError(`the webhook host ${host} is not publicly reachable`);
  }
  const literal = classifyIp(host);
  if (literal === "blocked") throw new WebhookUrlError(`the webhook address ${host} is not public (private, loopback, link-local or special-purpose)`);
  if (literal === "public") return;

  const addresses = await policy.resolve(host);
  if (addresses.length === 0) throw new WebhookUrlError(`the webhook host ${host} does not resolve`);
  const blocked = addresses.find((ip) => classifyIp(ip) !== "public");
  if (blocked) throw new WebhookUrlError(`the webhook host ${host} resolves to ${blocked}, which is not public (private, loopback, link-local or special-purpose)`);
}

/**
 * The host as DNS means it: lower case, and without the trailing dots of an
 * absolute name (`db.internal.` is `db.internal`), so the suffix checks see it.
 */
export function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, "");
}

/** Resolves A and AAAA records over DNS-over-HTTPS (Workers have no socket-level DNS). */
export const resolveWithDoh: ResolveHost = async (hostname) => {
  const answers = await Promise.all(
    ["A", "AAAA"].map(async (type) => {
      const response = await fetch(`https://cloudflare-dns.com/dns-query?name=${encodeURIComponent(hostname)}&type=${type}`, {
        headers: { accept: "application/dns-json" },
      });
      if (!response.ok) throw new WebhookUrlError(`DNS lookup for ${hostname} failed with HTTP ${response.status}`);
      const body = (await response.json()) as { Answer?: Array<{ type: number; data: string }> };
      return (body.Answer ?? []).filter((a) => a.type === 1 || a.type === 28).map((a) => a.data);
    }),
  );
  return answers.flat();
};
