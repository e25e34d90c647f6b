// A simulated provider: the daemon itself (provider/daemon.ts, its HubClient,
// its result outbox, its job runner, acceptance and result signing, output
// uploads) with only the container replaced (simExecutor.ts). Its own key, a real
// sign-in, a real advertisement; so it cannot drift from what a real daemon says.
import { join } from "node:path";
import type { Logger } from "pino";
import type { PrivateKeyAccount } from "viem/accounts";
import type { ProviderPricing, ProviderResources } from "../../protocol/hubMessages.ts";
import { HubClient } from "../../provider/connection/hubClient.ts";
import { ProviderDaemon } from "../../provider/daemon.ts";
import { ResultOutbox } from "../../provider/outbox.ts";
import type { ContainerGuard } from "../../provider/watchdog/spawn.ts";
import { SimulatedExecutor } from "./simExecutor.ts";

export interface SimProviderOptions {
  api: string;
  account: PrivateKeyAccount;
  dataDir: string;
  runMs: number;
  resources: ProviderResources;
  pricing: ProviderPricing;
  log: Logger;
}

/** Watchdogs guard real containers against a dead daemon; the simulated executor never starts one to guard. */
const noContainers: ContainerGuard = {
  guard: () => Promise.reject(new Error("a simulated provider has no containers to guard")),
};

export class SimProvider {
  readonly hub: HubClient;
  readonly daemon: ProviderDaemon;
  /** Welcomes received: 1 after the first sign-in, one more for every reconnect. */
  welcomes = 0;

  constructor(readonly options: SimProviderOptions) {
    const { api, account, log } = options;
    this.hub = new HubClient({ api, account, log });
    this.hub.on("welcome", () => void (this.welcomes += 1));
    const executor = new SimulatedExecutor(options.runMs, account.address.toLowerCase());
    this.daemon = new ProviderDaemon({
      api,
      account,
      resources: options.resources,
      pricing: options.pricing,
      dataDir: options.dataDir,
      maxOutputBytes: 1024 * 1024,
      hub: this.hub,
      executor,
      outbox: new ResultOutbox(join(options.dataDir, "outbox.json"), log),
      watchdogs: noContainers,
      log,
    });
  }

  get address(): string {
    return this.options.account.address.toLowerCase();
  }

  start(): void {
    this.hub.start();
  }

  /** Lets running jobs end (their results go out), then disconnects. */
  async stop(drainMs: number): Promise<boolean> {
    const drained = await this.daemon.drain(drainMs);
    this.hub.stop();
    return drained;
  }
}
