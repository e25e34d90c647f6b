// What one job's egress moved, per host:port, against its byte budget. The
// proxy counts every byte it relays here; the job's result reports usage(). A
// snapshot goes into the job's record as the job runs, so the proxy a restarted
// daemon starts for the job goes on from it: the budget is the job's, not each
// daemon's, and the usage reported is the whole job's.
import { type EgressHostUsage, type EgressRefusal, egressRefusalLimits, type EgressUsage } from "../../protocol/egress.ts";
import { truncate } from "../truncate.ts";

/** EgressUsage.hosts holds at most this many; the rest are counted in hosts_omitted. */
export const MAX_USAGE_HOSTS = 256;
/** A wildcard rule allows endless names, so even the omitted ones are remembered only up to here. */
const MAX_OMITTED_REMEMBERED = 4096;

/** Counts one connection's bytes: "out" leaves for the host, "in" comes back. */
export type ByteCounter = (direction: "out" | "in", bytes: number) => void;

/** What the job's record keeps of its meter: the usage reported so far, and every byte counted toward the budget. */
export interface EgressMeterSnapshot {
  usage: EgressUsage;
  /** In and out, all hosts (those past the usage's bound too). */
  bytes: number;
}

export class EgressMeter {
  private readonly hosts = new Map<string, EgressHostUsage>();
  private readonly omitted = new Set<string>();
  /** Connections to hosts past both bounds: each counted as one more host (so hosts_omitted is at least right). */
  private omittedUnremembered = 0;
  private refusedCount = 0;
  /** The first kinds of refusal, by host, port and status; later kinds are only counted. */
  private readonly refusals = new Map<string, EgressRefusal>();
  private total = 0;
  private passed = false;

  /**
   * `onBudgetPassed` runs once, on the first byte past `budgetBytes`. Started from `resumeFrom` when given (a
   * daemon that restarted): a job already past its budget is passed at once, without a call.
   */
  constructor(
    readonly budgetBytes: number,
    private readonly onBudgetPassed: () => void,
    resumeFrom?: EgressMeterSnapshot,
  ) {
    if (!resumeFrom) return;
    for (const host of resumeFrom.usage.hosts) this.hosts.set(hostKey(host.host, host.port), { ...host });
    // The omitted hosts' names are not kept: each is counted once more if reached again (hosts_omitted stays at least right).
    this.omittedUnremembered = resumeFrom.usage.hosts_omitted ?? 0;
    this.refusedCount = resumeFrom.usage.refused;
    for (const refusal of resumeFrom.usage.refusals ?? []) this.refusals.set(refusalKey(refusal), { ...refusal });
    this.total = resumeFrom.bytes;
    this.passed = this.total > budgetBytes;
  }

  snapshot(): EgressMeterSnapshot {
    return { usage: this.usage(), bytes: this.total };
  }

  get budgetPassed(): boolean {
    return this.passed;
  }

  /** A connection or request the proxy refused; one with a host says which, so the job's creator can see it. */
  refused(refusal: { status: number; reason: string; host?: string; port?: number }): void {
    this.refusedCount++;
    if (refusal.host === undefined) return;
    const key = refusalKey({ host: refusal.host, port: refusal.port, status: refusal.status });
    const known = this.refusals.get(key);
    if (known) known.count++;
    else if (this.refusals.size < egressRefusalLimits.kinds) {
      this.refusals.set(key, {
        host: truncate(refusal.host, egressRefusalLimits.hostChars),
        ...(refusal.port !== undefined ? { port: refusal.port } : {}),
        status: refusal.status,
        reason: truncate(refusal.reason, egressRefusalLimits.reasonChars),
        count: 1,
      });
    }
  }

  /** A connection to `host`:`port` was made; what it moves goes through the returned counter. */
  connection(host: string, port: number): ByteCounter {
    const entry = this.entryFor(host, port);
    if (entry) entry.connections++;
    return (direction, bytes) => {
      if (entry) {
        if (direction === "out") entry.bytes_out += bytes;
        else entry.bytes_in += bytes;
      }
      this.total += bytes;
      if (!this.passed && this.total > this.budgetBytes) {
        this.passed = true;
        this.onBudgetPassed();
      }
    };
  }

  usage(): EgressUsage {
    const hostsOmitted = this.omitted.size + this.omittedUnremembered;
    return {
      hosts: [...this.hosts.values()].map((entry) => ({ ...entry })),
      refused: this.refusedCount,
      ...(this.refusals.size > 0 ? { refusals: [...this.refusals.values()].map((refusal) => ({ ...refusal })) } : {}),
      ...(hostsOmitted > 0 ? { hosts_omitted: hostsOmitted } : {}),
    };
  }

  private entryFor(host: string, port: number): EgressHostUsage | undefined {
    const key = hostKey(host, port);
    const known = this.hosts.get(key);
    if (known) return known;
    if (this.hosts.size < MAX_USAGE_HOSTS) {
      const entry = { host, port, connections: 0, bytes_out: 0, bytes_in: 0 };
      this.hosts.set(key, entry);
      return entry;
    }
    if (this.omitted.has(key)) return undefined;
    if (this.omitted.size < MAX_OMITTED_REMEMBERED) this.omitted.add(key);
    else this.omittedUnremembered++;
    return undefined;
  }
}

const hostKey = (host: string, port: number) => `${host}:${port}`;

/** Refusals alike share one entry: the same host (as recorded, so cut to its bound), port and status. */
function refusalKey(refusal: { host: string; port?: number; status: number }): string {
  return `${truncate(refusal.host, egressRefusalLimits.hostChars)}\n${refusal.port ?? ""}\n${refusal.status}`;
}
