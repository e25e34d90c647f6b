// A job's opt-in network egress: the hosts it may reach through its provider's
// proxy (docs/creators.md, "Network access"). A rule is a host name
// (`huggingface.co`), a host and port (`files.example.com:8443`), or a wildcard
// for the names under a domain (`*.hf.co`, which does not match `hf.co` itself).
// A rule without a port allows 80 and 443 only. IP addresses are not rules: the
// provider resolves names itself and connects only to public addresses, so a
// job can name what it needs but never a place inside the provider's network.
// Pure: the API validates, the matcher compares, the provider's proxy enforces.
import { z } from "zod";

/** How many rules a job may name. */
export const MAX_EGRESS_RULES = 32;
/** The ports a rule without one allows: HTTP and HTTPS. */
export const DEFAULT_EGRESS_PORTS: readonly number[] = [80, 443];

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export interface EgressRule {
  /** Lower-case, without a trailing dot; for a wildcard, the domain under which names match. */
  host: string;
  wildcard: boolean;
  /** Undefined: DEFAULT_EGRESS_PORTS. */
  port?: number;
}

/** The rule `text` stands for, or why it is not one. */
export function parseEgressRule(text: string): EgressRule | { error: string } {
  const match = /^(\*\.)?([^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return { error: "must be a host name, host:port, or *.domain" };
  const [, star, name, portText] = match;
  const host = name!.toLowerCase().replace(/\.$/, "");
  if (/^[0-9.]+$/.test(host) || host.includes("[")) return { error: "must be a host name, not an IP address: the provider resolves names itself and reaches only public addresses" };
  const labels = host.split(".");
  if (host.length > 253 || !labels.every((label) => LABEL.test(label))) return { error: "must be a host name of letters, digits and '-' labels separated by dots" };
  if (labels.length < 2) return { error: "must name a domain with at least two labels (a single label reaches nothing public)" };
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (port < 1 || port > 65_535)) return { error: "must have a port from 1 to 65535" };
  return { host, wildcard: Boolean(star), ...(port === undefined ? {} : { port }) };
}

/** Whether `rule` lets a connection to `host`:`port` through (host compared case-insensitively). */
export function ruleAllows(rule: EgressRule, host: string, port: number): boolean {
  const name = host.toLowerCase().replace(/\.$/, "");
  const hostMatches = rule.wildcard ? name.endsWith(`.${rule.host}`) : name === rule.host;
  const ports = rule.port === undefined ? DEFAULT_EGRESS_PORTS : [rule.port];
  return hostMatches && ports.includes(port);
}

export function rulesAllow(rules: readonly EgressRule[], host: string, port: number): boolean {
  return rules.some((rule) => ruleAllows(rule, host, port));
}

/** Parses rules already validated (a spec's `network.allow`); throws on one that is not. */
export function parseEgressRules(texts: readonly string[]): EgressRule[] {
  return texts.map((text) => {
    const rule = parseEgressRule(text);
    if ("error" in rule) throw new Error(`egress rule "${text}" ${rule.error}`);
    return rule;
  });
}

export const EgressRuleText = z
  .string()
  .min(1)
  .max(260)
  .superRefine((text, ctx) => {
    const rule = parseEgressRule(text);
    if ("error" in rule) ctx.addIssue({ code: "custom", message: rule.error });
  })
  .meta({ example: "huggingface.co" });

export const NetworkSpec = z
  .object({
    allow: z
      .array(EgressRuleText)
      .min(1)
      .max(MAX_EGRESS_RULES)
      .refine((rules) => new Set(rules.map((rule) => rule.toLowerCase())).size === rules.length, "must not repeat a rule")
      .meta({
        description:
          "Hosts the job may reach over HTTP(S) through its provider's egress proxy (HTTP_PROXY and HTTPS_PROXY are set in the container): `host` (ports 80 and 443), `host:port`, or `*.domain` (names under it, not the domain itself). " +
          "Names only, never IP addresses: the provider resolves each name itself and connects only to public addresses. Only providers that offer egress take such a job.",
      }),
  })
  .strict()
  .meta({ id: "NetworkSpec", description: "Opt-in network egress. Without it a job has no network at all (loopback only)." });
export type NetworkSpec = z.infer<typeof NetworkSpec>;

/** What a job's egress moved, per host it reached (bytes as the proxy counted them, TLS included). */
export const EgressHostUsage = z
  .object({ host: z.string(), port: z.int(), connections: z.int().min(0), bytes_out: z.int().min(0), bytes_in: z.int().min(0) })
  .strict();
export type EgressHostUsage = z.infer<typeof EgressHostUsage>;

/** Bounds of what a job's refusals say (EgressUsage.refusals). */
export const egressRefusalLimits = { kinds: 16, hostChars: 253, reasonChars: 300 } as const;

/** Refusals alike (one host, port and status), counted, with the proxy's reason for the first. */
export const EgressRefusal = z
  .object({
    host: z.string().max(egressRefusalLimits.hostChars),
    port: z.int().min(0).max(65_535).optional(),
    status: z.int().min(100).max(599),
    reason: z.string().max(egressRefusalLimits.reasonChars),
    count: z.int().min(1),
  })
  .strict();
export type EgressRefusal = z.infer<typeof EgressRefusal>;

export const EgressUsage = z
  .object({
    hosts: z.array(EgressHostUsage).max(256),
    /** Connections the proxy refused (a host not allowed, a private address, over the budget). */
    refused: z.int().min(0),
    /** The first kinds of refusal (a host not allowed, one that did not answer), so a creator sees which host to add or check. */
    refusals: z.array(EgressRefusal).max(egressRefusalLimits.kinds).optional(),
    /** Hosts left out of `hosts` past its bound. */
    hosts_omitted: z.int().min(0).optional(),
  })
  .strict()
  .meta({ id: "EgressUsage" });
export type EgressUsage = z.infer<typeof EgressUsage>;
