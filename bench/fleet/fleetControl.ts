// The benchmark's side of the fleet: a few processes of simulated providers
// (fleetProcess.ts), each asked in turn; providers are spread over them evenly.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { FleetCommand, FleetReply, FleetStats } from "./fleetMessages.ts";

class FleetProcess {
  private waiting: Array<(reply: FleetReply) => void> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    child.on("message", (reply: FleetReply) => this.waiting.shift()?.(reply));
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    void this.exited.then((code) => {
      for (const wake of this.waiting.splice(0)) wake({ type: "error", message: `the fleet process exited (${code})` });
    });
  }

  /** The next reply: the process answers commands in the order it got them. */
  next(): Promise<FleetReply> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async ask<T extends FleetReply["type"]>(command: FleetCommand, expect: T): Promise<Extract<FleetReply, { type: T }>> {
    const answer = this.next();
    this.child.send(command);
    const reply = await answer;
    if (reply.type === "error") throw new Error(`fleet process ${this.child.pid}: ${reply.message}`);
    if (reply.type !== expect) throw new Error(`fleet process ${this.child.pid} answered ${reply.type} to ${command.type}`);
    return reply as Extract<FleetReply, { type: T }>;
  }
}

export interface Fleet {
  pids: number[];
  size: number;
  /** Adds providers until there are `total`, spread over the processes; the time until every new one was welcomed. */
  growTo(total: number, runMs: number): Promise<number>;
  stats(): Promise<FleetStats>;
  /** Cuts every provider's connection at once; how many were connected. */
  drop(): Promise<number>;
  stop(drainMs: number): Promise<void>;
}

export async function startFleet(api: string, processes: number, wave: number): Promise<Fleet> {
  const children: FleetProcess[] = [];
  for (let i = 0; i < processes; i++) {
    const child = fork(join(import.meta.dirname, "fleetProcess.ts"), [], { execArgv: ["--import", "tsx"], env: { ...process.env, FLEET_API: api }, stdio: "inherit" });
    const fleetProcess = new FleetProcess(child);
    children.push(fleetProcess);
    const ready = await fleetProcess.next();
    if (ready.type !== "ready") throw new Error(`a fleet process did not start: ${ready.type === "error" ? ready.message : ready.type}`);
  }
  let size = 0;
  return {
    pids: children.map((c) => c.child.pid!),
    get size() {
      return size;
    },
    async growTo(total, runMs) {
      const started = performance.now();
      const adding = total - size;
      const counts = children.map((_child, i) => Math.floor(adding / processes) + (i < adding % processes ? 1 : 0));
      let firstIndex = size;
      await Promise.all(
        children.map((child, i) => {
          const count = counts[i]!;
          const command = { type: "add" as const, count, firstIndex, runMs, wave: Math.max(1, Math.floor(wave / processes)) };
          firstIndex += count;
          return count > 0 ? child.ask(command, "added") : undefined;
        }),
      );
      size = total;
      return performance.now() - started;
    },
    async stats() {
      const all = await Promise.all(children.map((child) => child.ask({ type: "stats" }, "stats")));
      return all.map((r) => r.stats).reduce(mergeStats);
    },
    async drop() {
      const all = await Promise.all(children.map((child) => child.ask({ type: "drop" }, "dropped")));
      return all.reduce((sum, r) => sum + r.sockets, 0);
    },
    async stop(drainMs) {
      await Promise.all(children.map((child) => child.ask({ type: "stop", drainMs }, "stopped").catch(() => undefined)));
      await Promise.all(
        children.map(async (child) => {
          const timer = setTimeout(() => child.child.kill("SIGKILL"), 10_000);
          await child.exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}

function mergeStats(a: FleetStats, b: FleetStats): FleetStats {
  const problems = { ...a.problems };
  for (const [message, entry] of Object.entries(b.problems)) problems[message] = { count: (problems[message]?.count ?? 0) + entry.count, example: problems[message]?.example ?? entry.example };
  return {
    providers: a.providers + b.providers,
    connected: a.connected + b.connected,
    welcomes: a.welcomes + b.welcomes,
    offers: a.offers + b.offers,
    starts: a.starts + b.starts,
    cancels: a.cancels + b.cancels,
    resultsAccepted: a.resultsAccepted + b.resultsAccepted,
    resultsRefused: a.resultsRefused + b.resultsRefused,
    problems,
    cpuUserMs: a.cpuUserMs + b.cpuUserMs,
    cpuSystemMs: a.cpuSystemMs + b.cpuSystemMs,
    rssMb: a.rssMb + b.rssMb,
  };
}
