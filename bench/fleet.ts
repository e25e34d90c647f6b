// `npm run bench:fleet`: a fleet of simulated providers (bench/fleet/) through the
// real control plane (wrangler dev: hub Durable Objects, matchmakers, job rooms,
// D1, R2, Queues), chain off. Each provider is the daemon's own code with only
// the container replaced; a load generator creates jobs through the public API
// at fixed arrival rates from several creators. Per fleet size and offered rate:
// jobs/s from create to result accepted, queue → assigned and create → running
// latency, jobs that did not finish and why, CPU per process, workerd memory per
// connected provider; a reconnect storm per fleet size; and the bare D1 insert
// route's req/s in the same run, so every throughput is also a ratio.
// Its curve is drawn beside the report (bench/reports/fleet.svg; docs/fleet-curve.svg is one).
import { writeFile } from "node:fs/promises";
import type { CreateJobRequest } from "../protocol/jobSpec.ts";
import { startWranglerDev } from "../test/helpers/wranglerDev.ts";
import { fleetCurveSvg } from "./fleet/curvePlot.ts";
import { chainPass } from "./fleet/chainPass.ts";
import { startFleet } from "./fleet/fleetControl.ts";
import type { FleetStats } from "./fleet/fleetMessages.ts";
import { printChainPass, printFleetRun, printProfile, SERVER, type ProfiledStep, type SizeRecord } from "./fleet/fleetReport.ts";
import { measureInsertFloor } from "./fleet/insertFloor.ts";
import { openJobs } from "./fleet/jobOutcomes.ts";
import { plainCreate, signInCreators } from "./fleet/loadGenerator.ts";
import { runStep, type StepResult } from "./fleet/loadStep.ts";
import { CpuMeter, loadAverage, totalRssMb, wranglerProcesses } from "./fleet/processStats.ts";
import { reconnectStorm, untilOnline, type StormResult } from "./fleet/reconnectStorm.ts";
import { newestDevBundle, startWorkerProfile } from "./fleet/workerProfile.ts";
import { writeReport } from "./lib/report.ts";

const list = (value: string) => (value ? value.split(",").map(Number) : []);
const settings = {
  /** Chain off, the fleet grown to each size in turn (none: only the chain-on pass runs). */
  sizes: list(process.env.BENCH_FLEET_SIZES ?? "10,100,1000"),
  rates: list(process.env.BENCH_FLEET_RATES ?? "10,20,40"),
  durationS: Number(process.env.BENCH_FLEET_DURATION_S ?? 20),
  runMs: Number(process.env.BENCH_FLEET_RUN_MS ?? 1000),
  floorS: Number(process.env.BENCH_FLEET_FLOOR_S ?? 10),
  idleS: Number(process.env.BENCH_FLEET_IDLE_S ?? 5),
  creators: Number(process.env.BENCH_FLEET_CREATORS ?? 8),
  processes: Number(process.env.BENCH_FLEET_PROCESSES ?? 1),
  wave: Number(process.env.BENCH_FLEET_WAVE ?? 100),
  storm: process.env.BENCH_FLEET_STORM !== "false",
  stormRate: Number(process.env.BENCH_FLEET_STORM_RATE ?? 10),
  stormS: Number(process.env.BENCH_FLEET_STORM_S ?? 9),
  maxInFlight: Number(process.env.BENCH_FLEET_MAX_IN_FLIGHT ?? 256),
  drainS: Number(process.env.BENCH_FLEET_DRAIN_S ?? 120),
  hubShards: process.env.BENCH_FLEET_HUB_SHARDS ?? "4",
  /** A CPU profile of the Worker over an extra step at the largest size (not one of the measured ones: the profiler slows it). */
  profileS: Number(process.env.BENCH_FLEET_PROFILE_S ?? 10),
  profileRate: Number(process.env.BENCH_FLEET_PROFILE_RATE ?? 10),
  /** With the chain on: one fleet size and one offered rate (0 providers: skipped). */
  chainProviders: Number(process.env.BENCH_FLEET_CHAIN_PROVIDERS ?? 100),
  chainRate: Number(process.env.BENCH_FLEET_CHAIN_RATE ?? 10),
  chainPollMs: Number(process.env.BENCH_FLEET_CHAIN_POLL_MS ?? 500),
};
const spec = { image: "pond-test/busybox:2", cmd: ["true"], resources: { gpus: 0, cpus: 1, memory_mb: 128 }, timeout_s: 60, max_price_wei: "1000000000000000000" } as CreateJobRequest;

const sizes: SizeRecord[] = [];
const steps: StepResult[] = [];
const storms: StormResult[] = [];
let fleetStats: FleetStats | undefined;
let stillOpen = Number.NaN;
let profile: ProfiledStep | undefined;

/** The chain off: one wrangler dev and one fleet, grown to each size in turn. */
async function chainOff(): Promise<void> {
  const dev = await startWranglerDev({ BENCH_ROUTES: "true", HUB_SHARDS: settings.hubShards });
  const fleet = await startFleet(dev.url, settings.processes, settings.wave).catch(async (error: unknown) => {
    await dev.stop();
    throw error;
  });
  try {
    const server = wranglerProcesses(dev.process.child.pid!, dev.port);
    if (server.runtime.length !== 1 || server.proxy.length !== 1) throw new Error(`expected one workerd for the Worker and one for wrangler's proxy, found ${JSON.stringify(server)}`);
    const cpu = new CpuMeter({ workerd: server.runtime, "workerd proxy": server.proxy, "wrangler node": server.node, fleet: fleet.pids });
    const rss = () => ({ workerd: totalRssMb(server.runtime), proxy: totalRssMb(server.proxy) });
    const creators = await signInCreators(dev.url, settings.creators);
    const create = plainCreate(creators, spec);
    console.log(`wrangler dev at ${dev.url}: workerd ${rss().workerd.toFixed(0)} MiB, proxy ${rss().proxy.toFixed(0)} MiB; load average ${loadAverage()}`);

    for (const size of settings.sizes) {
      const rssBeforeMb = rss();
      const signInStarted = performance.now();
      await fleet.growTo(size, settings.runMs);
      // Signed in is not yet online: the advertisement has to reach the matchmakers too.
      await untilOnline(dev.url, size, 120_000);
      const signInMs = performance.now() - signInStarted;
      const rssMb = rss();
      const idleFrom = cpu.sample();
      await new Promise((resolve) => setTimeout(resolve, settings.idleS * 1000));
      const idleCores = CpuMeter.cores(idleFrom, cpu.sample());
      const floor = await measureInsertFloor(dev.url, settings.floorS, () => SERVER.reduce((sum, name) => sum + cpu.sample().cpu[name]!, 0));
      const record: SizeRecord = { providers: size, signInMs, rssBeforeMb, rssMb, idleCores, floor, loadAverage: loadAverage() };
      sizes.push(record);
      console.log(`\n${size} providers signed in (${(signInMs / 1000).toFixed(1)} s); workerd ${rssMb.workerd.toFixed(0)} MiB; bare insert ${floor.requestsPerSecond.toFixed(0)} req/s; load ${record.loadAverage}`);
      for (const rate of settings.rates) {
        const step = await runStep({ creators, fleet, cpu, create, rate, durationS: settings.durationS, runMs: settings.runMs, maxInFlight: settings.maxInFlight, drainS: settings.drainS });
        steps.push(step);
        console.log(`  ${rate} jobs/s offered: ${step.sustained.toFixed(1)} succeeded/s, ${step.outcomes.succeeded}/${step.created} succeeded, create → result p99 ${step.createToResult.p99} ms; load ${loadAverage()}`);
      }
      if (settings.storm) {
        const storm = await reconnectStorm({ api: dev.url, creators, fleet, create, rate: settings.stormRate, durationS: settings.stormS, maxInFlight: settings.maxInFlight, drainS: settings.drainS });
        storms.push(storm);
        console.log(`  reconnect storm: all ${storm.providers} online again after ${storm.allOnlineMs} ms; ${storm.outcomes.succeeded}/${storm.outcomes.created} jobs succeeded`);
      }
    }
    if (settings.profileS > 0) {
      const profiler = await startWorkerProfile(dev.inspectorPort, newestDevBundle());
      const step = await runStep({ creators, fleet, cpu, create, rate: settings.profileRate, durationS: settings.profileS, runMs: settings.runMs, maxInFlight: settings.maxInFlight, drainS: settings.drainS });
      profile = { providers: fleet.size, rate: settings.profileRate, jobs: step.outcomes.succeeded, summary: await profiler.stop() };
    }
    fleetStats = await fleet.stats();
    stillOpen = await openJobs(creators);
  } finally {
    await fleet.stop(30_000);
    await dev.stop();
  }
}

if (settings.sizes.length > 0) await chainOff();
const run = { settings, sizes, steps, storms, problems: fleetStats?.problems ?? {}, stillOpen };
if (sizes.length > 0) printFleetRun(run);
if (profile) printProfile(profile);
// The chain on, once the chain-off stack is gone: its own anvil, wrangler dev and fleet.
// Paid jobs reserve their max price in escrow until settled: a price a user would set for a short CPU job, so deposits last the run.
const paidSpec = { ...spec, max_price_wei: "1000000000000000" };
const chain = settings.chainProviders > 0 ? await chainPass({ ...settings, providers: settings.chainProviders, rate: settings.chainRate, pollMs: settings.chainPollMs }, paidSpec) : undefined;
if (chain) printChainPass(chain, settings.durationS);
else console.log("\nChain on: skipped (BENCH_FLEET_CHAIN_PROVIDERS=0)");
const report = await writeReport("fleet", { ...run, fleet: fleetStats, profile, chain });
console.log(`report: ${report}`);
if (steps.length > 0) {
  const plot = report.replace(/\.json$/, ".svg");
  await writeFile(plot, await fleetCurveSvg(steps, `bench:fleet, chain off, ${new Date().toISOString().slice(0, 10)}: ${settings.durationS} s per rate, each job "runs" ${settings.runMs} ms`));
  console.log(`curve: ${plot}`);
}
