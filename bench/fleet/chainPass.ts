// The fleet with the chain on (test/helpers/chainStack.ts: anvil with the market
// deployed, wrangler dev indexing it and relaying to it): every provider staked
// on chain first (registered in batches), every job paid as a user's would be
// (createPaidJob: the creator's signed JobAuthorization against its escrow),
// reserved, reported and settled by the relayer. Measured: the same step as with
// the chain off, and the reservation lag (reservationWatch.ts).
import { parseEther } from "viem";
import { sendMarketTx } from "../../cli/marketTx.ts";
import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import { PondClient } from "../../sdk/index.ts";
import { startChainStack } from "../../test/helpers/chainStack.ts";
import { processTree } from "../../test/helpers/processTree.ts";
import { startFleet } from "./fleetControl.ts";
import { fleetAccount } from "./fleetKeys.ts";
import type { CreateAs } from "./loadGenerator.ts";
import { runStep, type StepResult } from "./loadStep.ts";
import { untilOnline } from "./reconnectStorm.ts";
import { CpuMeter, loadAverage, wranglerProcesses } from "./processStats.ts";
import { watchReservations } from "./reservationWatch.ts";

export interface ChainPassSettings {
  providers: number;
  rate: number;
  durationS: number;
  runMs: number;
  creators: number;
  processes: number;
  wave: number;
  maxInFlight: number;
  drainS: number;
  hubShards: string;
  pollMs: number;
}

export interface ChainPassResult {
  providers: number;
  registerMs: number;
  signInMs: number;
  step: StepResult;
  reservation: Awaited<ReturnType<ReturnType<typeof watchReservations>["stop"]>>;
  pollMs: number;
  loadAverage: string;
}

/** Registrations sent at once: each provider is its own account, so their nonces never collide. */
const REGISTER_BATCH = 25;

export async function chainPass(settings: ChainPassSettings, spec: CreateJobRequest): Promise<ChainPassResult> {
  const stack = await startChainStack({ vars: { BENCH_ROUTES: "true", HUB_SHARDS: settings.hubShards } });
  try {
    const chain = await new PondClient({ baseUrl: stack.dev.url }).chain();
    const registerStarted = performance.now();
    for (let first = 0; first < settings.providers; first += REGISTER_BATCH) {
      const batch = Array.from({ length: Math.min(REGISTER_BATCH, settings.providers - first) }, (_, i) => fleetAccount(first + i));
      await Promise.all(
        batch.map(async (account) => {
          await stack.anvil.testClient.setBalance({ address: account.address, value: parseEther("10") });
          await sendMarketTx(stack.anvil.rpcUrl, account, chain, { functionName: "register", value: parseEther("1") });
        }),
      );
    }
    const registerMs = performance.now() - registerStarted;
    const fleet = await startFleet(stack.dev.url, settings.processes, settings.wave);
    try {
      const signInStarted = performance.now();
      await fleet.growTo(settings.providers, settings.runMs);
      await untilOnline(stack.dev.url, settings.providers, 120_000);
      const signInMs = performance.now() - signInStarted;
      const creators = await Promise.all(Array.from({ length: settings.creators }, (_, i) => stack.creator(`fleet-creator-${i}`, "10")));
      const clients = creators.map((creator) => creator.client);
      const create: CreateAs = (i) => creators[i]!.client.createPaidJob(spec, creators[i]!.wallet);
      const server = wranglerProcesses(stack.dev.process.child.pid!, stack.dev.port);
      const cpu = new CpuMeter({ workerd: server.runtime, "workerd proxy": server.proxy, "wrangler node": server.node, fleet: fleet.pids, anvil: processTree(stack.anvil.pid).map((p) => p.pid) });
      const watch = watchReservations(clients, settings.pollMs);
      const step = await runStep({ creators: clients, fleet, cpu, create, rate: settings.rate, durationS: settings.durationS, runMs: settings.runMs, maxInFlight: settings.maxInFlight, drainS: settings.drainS });
      const reservation = await watch.stop();
      return { providers: settings.providers, registerMs, signInMs, step, reservation, pollMs: settings.pollMs, loadAverage: loadAverage() };
    } finally {
      await fleet.stop(30_000);
    }
  } finally {
    await stack.stop();
  }
}
