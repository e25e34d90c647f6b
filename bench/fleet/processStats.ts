// CPU time and memory of the processes in a run, read from Linux's /proc: the
// server (wrangler dev's workerd processes and its Node process), the fleet and the
// load generator, so a saturated generator is not mistaken for the server's limit.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { processTree } from "../../test/helpers/processTree.ts";

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** CPU seconds (user + system) a process has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Resident memory in MiB (VmRSS); NaN once it is gone. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * The processes `wrangler dev` runs, by role: the workerd that runs the Worker, its
 * Durable Objects, D1 and R2 (the one whose own entry socket is on a port of its
 * choosing), the workerd in front of it on the dev port (wrangler's proxy, which
 * every request and WebSocket passes through), and wrangler's own Node processes.
 */
export function wranglerProcesses(wranglerPid: number, devPort: number): { runtime: number[]; proxy: number[]; node: number[] } {
  const tree = processTree(wranglerPid);
  const workerd = tree.filter((p) => /\/workerd\b.*\bserve\b/.test(p.command));
  const onDevPort = (p: { command: string }) => p.command.includes(`--socket-addr=entry=127.0.0.1:${devPort} `);
  return {
    runtime: workerd.filter((p) => !onDevPort(p)).map((p) => p.pid),
    proxy: workerd.filter(onDevPort).map((p) => p.pid),
    node: tree.filter((p) => !workerd.includes(p)).map((p) => p.pid),
  };
}

/** Resident memory of several processes together, in MiB. */
export function totalRssMb(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + rssMb(pid), 0);
}

export interface CpuSample {
  at: number;
  /** CPU seconds by process name. */
  cpu: Record<string, number>;
}

/** Watches named processes' CPU between two moments. */
export class CpuMeter {
  /** Each name's CPU is the sum over its processes. */
  constructor(private readonly pids: Record<string, number[]>) {}

  sample(): CpuSample {
    const own = process.cpuUsage();
    const cpu: Record<string, number> = { "load generator": (own.user + own.system) / 1e6 };
    for (const [name, pids] of Object.entries(this.pids)) cpu[name] = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    return { at: performance.now(), cpu };
  }

  /** Each process's share of one core between two samples (1.0 = a whole core). */
  static cores(from: CpuSample, to: CpuSample): Record<string, number> {
    const seconds = (to.at - from.at) / 1000;
    return Object.fromEntries(Object.keys(to.cpu).map((name) => [name, (to.cpu[name]! - from.cpu[name]!) / seconds]));
  }
}

export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
}
