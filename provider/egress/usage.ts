// What one job's egress moved, per host:port, against its byte budget. The
// proxy counts every byte it relays here; the job's record reports usage().
import { type EgressHostUsage, type EgressUsage } from "../../protocol/egress.ts";

/** EgressUsage.hosts holds at most this many; the rest are counted in hosts_omitted. */
export const MAX_USAGE_HOSTS = 256;
/** A wildcard rule allows endless names, so even the omitted ones are remembered only up to here. */
const MAX_OMITTED_REMEMBERED = 4096;

/** Counts one connection's bytes: "out" leaves for the host, "in" comes back. */
export type ByteCounter = (direction: "out" | "in", bytes: number) => void;

export class EgressMeter {
  private readonly hosts = new Map<string, EgressHostUsage>();
  private readonly omitted = new Set<string>();
  /** Connections to hosts past both bounds: each counted as one more host (so hosts_omitted is at least right). */
  private omittedUnremembered = 0;
  private refusedCount = 0;
  private total = 0;
  private passed = false;

  /** `onBudgetPassed` runs once, on the first byte past `budgetBytes`. */
  constructor(
    readonly budgetBytes: number,
    private readonly onBudgetPassed: () => void,
  ) {}

  get budgetPassed(): boolean {
    return this.passed;
  }

  refused(): void {
    this.refusedCount++;
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
      ...(hostsOmitted > 0 ? { hosts_omitted: hostsOmitted } : {}),
    };
  }

  private entryFor(host: string, port: number): EgressHostUsage | undefined {
    const key = `${host}:${port}`;
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
