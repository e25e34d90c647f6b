// One process of the fleet: many simulated providers (simProvider.ts) behind one
// TCP relay to the API (so a "drop" cuts every provider's socket at once, as a
// hub restart would), driven over IPC by fleetControl.ts. Run by fork(), not alone.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { startTcpProxy } from "../../test/helpers/tcpProxy.ts";
import { fleetAccount } from "./fleetKeys.ts";
import type { FleetCommand, FleetReply, FleetStats } from "./fleetMessages.ts";
import { SimProvider } from "./simProvider.ts";

const api = process.env.FLEET_API;
if (!api || !process.send) throw new Error("run by fleetControl.ts: FLEET_API and an IPC channel are needed");
const reply = (message: FleetReply) => process.send!(message);

const root = await mkdtemp(join(tmpdir(), "pond-fleet-"));
const proxy = await startTcpProxy(Number(new URL(api).port));
const providers: SimProvider[] = [];
const counts = { offers: 0, starts: 0, cancels: 0, resultsAccepted: 0, resultsRefused: 0 };
const problems: FleetStats["problems"] = {};
// The daemons' warnings and errors, counted by message: what went wrong, without a log file per provider.
const log = pino(
  { level: "warn", base: null },
  {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; err?: { message?: string }; error?: string; reason?: string };
      const key = entry.msg ?? "(no message)";
      const example = entry.err?.message ?? entry.error ?? entry.reason ?? "";
      problems[key] ??= { count: 0, example };
      problems[key].count += 1;
    },
  },
);

/** Where every provider gets the same machine: capacity never limits the fleet, the control plane does. */
const resources = { cpus: 64, memory_mb: 262_144, disk_free_mb: 100_000, gpus: [] };
const pricing = { gpu_second_wei: "0", cpu_second_wei: "1000" };

async function add(command: Extract<FleetCommand, { type: "add" }>): Promise<FleetReply> {
  const started = performance.now();
  for (let i = 0; i < command.count; i += command.wave) {
    const wave: SimProvider[] = [];
    for (let j = i; j < Math.min(command.count, i + command.wave); j++) {
      const index = command.firstIndex + j;
      const account = fleetAccount(index);
      const provider = new SimProvider({ api: proxy.url, account, dataDir: join(root, `p${index}`), runMs: command.runMs, resources, pricing, log });
      provider.hub.on("message", (message) => {
        if (message.type === "job.offer") counts.offers += 1;
        else if (message.type === "job.start") counts.starts += 1;
        else if (message.type === "job.cancel") counts.cancels += 1;
        else if (message.type === "job.result.ack") counts[message.accepted ? "resultsAccepted" : "resultsRefused"] += 1;
      });
      provider.start();
      wave.push(provider);
      providers.push(provider);
    }
    await until(() => wave.every((p) => p.welcomes > 0), 120_000, `${wave.length} providers to sign in`);
  }
  return { type: "added", ms: performance.now() - started, connected: providers.filter((p) => p.hub.connected).length };
}

function stats(): FleetStats {
  const cpu = process.cpuUsage();
  return {
    providers: providers.length,
    connected: providers.filter((p) => p.hub.connected).length,
    welcomes: providers.reduce((sum, p) => sum + p.welcomes, 0),
    ...counts,
    problems,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    rssMb: process.memoryUsage().rss / 1024 / 1024,
  };
}

async function stop(drainMs: number): Promise<FleetReply> {
  const drained = await Promise.all(providers.map((p) => p.stop(drainMs)));
  await proxy.close();
  await rm(root, { recursive: true, force: true });
  return { type: "stopped", drained: drained.every(Boolean) };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

process.on("message", (command: FleetCommand) => {
  const handle = async (): Promise<FleetReply> => {
    switch (command.type) {
      case "add":
        return add(command);
      case "stats":
        return { type: "stats", stats: stats() };
      case "drop": {
        const sockets = providers.filter((p) => p.hub.connected).length;
        proxy.dropAll();
        return { type: "dropped", sockets };
      }
      case "stop":
        return stop(command.drainMs);
    }
  };
  handle()
    .then(reply)
    .catch((error: unknown) => reply({ type: "error", message: error instanceof Error ? error.message : String(error) }))
    .finally(() => {
      if (command.type === "stop") process.disconnect();
    });
});
reply({ type: "ready", proxyUrl: proxy.url });
