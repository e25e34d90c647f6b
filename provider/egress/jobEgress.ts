// A job's egress as the daemon runs it: for a spec with network.allow, the
// proxy (proxy.ts) taking the connections the job's forwarder hands over, and
// listening on <workDir>/egress.sock for those it relays, before the container is
// made, so the forwarder in the job's network (jobNetwork.ts) has somewhere to
// go; started again on the same path for a container adopted after a restart
// (the forwarder outlives the daemon, the proxy does not); closed when the job
// ends, its usage reported in the result. While it runs, where its meter stands
// is handed to the job's record every few seconds, and a proxy started again
// goes on from the record's (usage.ts). The provider's own settings (hosts it
// never allows, the budget, the connection cap) apply to every job alike.
import type { Socket } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { parseEgressRules, type EgressRule, type EgressUsage, type NetworkSpec } from "../../protocol/egress.ts";
import { EgressProxy } from "./proxy.ts";
import { EgressRate } from "./rate.ts";
import type { EgressMeterSnapshot } from "./usage.ts";
import { egressResolver } from "./resolver.ts";

export const EGRESS_SOCKET = "egress.sock";
/** How often a job's egress meter goes to its record: what a daemon killed at once may forget (and a job move past its budget). */
export const EGRESS_RECORD_EVERY_MS = 2_000;

export interface EgressSettings {
  deny: readonly EgressRule[];
  budgetBytes: number;
  maxConnections: number;
  /** One bandwidth cap for every job's proxy; none when the provider set none. */
  rate?: EgressRate;
  /** Development and tests only: non-public addresses counted reachable, each named. */
  allowAddresses: readonly string[];
  /** Development and tests only: fixed answers for names, instead of a lookup. */
  fixedAnswers: ReadonlyMap<string, string>;
}

/** What the job's network needs of its proxy: the socket path relayed connections go to, and the intake for handed-over ones. */
export interface EgressEndpoint {
  proxySocketPath: string;
  adopt(socket: Socket): void;
}

export interface JobEgress extends EgressEndpoint {
  usage(): EgressUsage;
  close(): Promise<void>;
}

export interface JobEgressHooks {
  /** Stops the job with the reason (its budget passed). */
  onExceeded(reason: string): void;
  /** Where the meter stands, every EGRESS_RECORD_EVERY_MS while it moves: for the job's record. */
  onProgress?(snapshot: EgressMeterSnapshot): void;
}

/** The proxy of a job with network.allow, listening; resumed from the record's snapshot for an adopted job. */
export async function openJobEgress(
  job: { jobId: string; network: NetworkSpec; workDir: string; resumeFrom?: EgressMeterSnapshot },
  settings: EgressSettings,
  log: Logger,
  hooks: JobEgressHooks,
): Promise<JobEgress> {
  const proxySocketPath = join(job.workDir, EGRESS_SOCKET);
  const proxy = new EgressProxy({
    socketPath: proxySocketPath,
    rules: parseEgressRules(job.network.allow),
    deny: settings.deny,
    budgetBytes: settings.budgetBytes,
    maxConnections: settings.maxConnections,
    allowAddresses: settings.allowAddresses,
    // Without fixed answers, the proxy's own resolver (resolver.ts).
    ...(settings.fixedAnswers.size > 0 ? { resolve: fixedThenSystem(settings.fixedAnswers) } : {}),
    log: log.child({ job: job.jobId }),
    onBudgetExceeded: hooks.onExceeded,
    ...(settings.rate ? { rate: settings.rate } : {}),
    ...(job.resumeFrom ? { resumeFrom: job.resumeFrom } : {}),
  });
  await proxy.start();
  let recorded = proxy.snapshot();
  const record = setInterval(() => {
    const now = proxy.snapshot();
    if (now.bytes === recorded.bytes && now.usage.refused === recorded.usage.refused) return;
    recorded = now;
    hooks.onProgress?.(now);
  }, EGRESS_RECORD_EVERY_MS);
  record.unref();
  return {
    proxySocketPath,
    adopt: (socket) => proxy.adopt(socket),
    usage: () => proxy.usage(),
    close: () => {
      clearInterval(record);
      return proxy.close();
    },
  };
}

/** Development and tests: names with a fixed answer get it; others are resolved as always. */
function fixedThenSystem(answers: ReadonlyMap<string, string>): (host: string) => Promise<string[]> {
  const system = egressResolver({ timeoutMs: 5_000 });
  return async (host) => {
    const fixed = answers.get(host.toLowerCase());
    return fixed ? [fixed] : system(host);
  };
}

/** The provider's settings from its configuration. */
export function egressSettingsOf(config: {
  egressDeny: readonly string[];
  egressBudgetMb: number;
  egressMaxConnections: number;
  egressRateMb?: number;
  egressAllowAddresses: readonly string[];
  egressResolve: readonly string[];
}): EgressSettings {
  return {
    fixedAnswers: new Map(config.egressResolve.map((pair) => pair.toLowerCase().split("=") as [string, string])),
    deny: parseEgressRules(config.egressDeny),
    budgetBytes: config.egressBudgetMb * 1024 * 1024,
    maxConnections: config.egressMaxConnections,
    allowAddresses: config.egressAllowAddresses,
    ...(config.egressRateMb !== undefined ? { rate: new EgressRate(config.egressRateMb * 1024 * 1024) } : {}),
  };
}
