// `pond provider …`: set up, stake and run a provider daemon on this machine.
import { spawn } from "node:child_process";
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { formatEther } from "viem";
import { loadOrCreateKeyFile } from "../../keys/keyFile.ts";
import { PondClient } from "../../sdk/index.ts";
import { configDir } from "../config.ts";
import type { CliContext } from "../context.ts";
import { EnvironmentError, UsageError } from "../errors.ts";
import { exitCodes } from "../exitCodes.ts";
import { sendMarketTx } from "../marketTx.ts";
import { ethAmount } from "./account.ts";

const DEFAULT_RPC = "http://127.0.0.1:8545";
const providerMain = join(import.meta.dirname, "..", "..", "provider", "main.ts");
/** What the daemon exits with (provider/main.ts): 1 for a configuration or key mistake, 2 without a Docker engine. */
const DAEMON_BAD_CONFIG = 1;
const DAEMON_NO_DOCKER = 2;

interface ProviderDirOptions {
  dataDir: string;
}

const defaultDataDir = () => join(configDir(), "provider");
const keyFileIn = (dataDir: string) => join(dataDir, "provider.key");
const configFileIn = (dataDir: string) => join(dataDir, "config.json");

export function registerProvider(program: Command, ctx: () => CliContext): void {
  const provider = program.command("provider").description("run a provider daemon on this machine and manage its stake");

  provider
    .command("init")
    .option("--data-dir <dir>", "where the daemon keeps its key, outbox and job files", defaultDataDir())
    .description("create the provider's key and config, and say what comes next")
    .action(async (options: ProviderDirOptions) => {
      const c = ctx();
      const api = await c.api();
      await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
      const { account, created } = await loadOrCreateKeyFile(keyFileIn(options.dataDir));
      await writeFile(configFileIn(options.dataDir), `${JSON.stringify({ api, dataDir: options.dataDir }, null, 2)}\n`, { mode: 0o600 });
      c.output.result({ address: account.address, key_created: created, data_dir: options.dataDir, config: configFileIn(options.dataDir) }, () => [
        `provider ${account.address} (${created ? "new key" : "existing key"} in ${keyFileIn(options.dataDir)})`,
        "next:",
        `  fund ${account.address} with ETH for its stake and gas`,
        "  pond provider register --stake-eth 1",
        "  pond provider doctor      # Docker, GPUs and what is missing",
        "  pond provider start",
      ]);
    });

  provider
    .command("doctor")
    .option("--data-dir <dir>", "the daemon's data folder", defaultDataDir())
    .description("check Docker, GPUs and configuration, and say what to fix")
    .action(async (options: ProviderDirOptions) => {
      const api = program.opts<{ api?: string }>().api;
      // The daemon's own flags come before its subcommand.
      process.exitCode = await runDaemon([...(await configFlags(options.dataDir)), ...(api ? ["--api", api] : []), "doctor"]);
    });

  provider
    .command("start")
    .description("start the provider daemon (flags as for `npm run provider -- --help`)")
    .option("--data-dir <dir>", "the daemon's data folder", defaultDataDir())
    .allowUnknownOption()
    .argument("[flags...]")
    .action(async (flags: string[], options: ProviderDirOptions) => {
      const api = program.opts<{ api?: string }>().api;
      // Ctrl-C reaches the daemon from the terminal itself (same process group):
      // forwarding it too would be a second signal, which cancels every job. So
      // SIGINT only keeps this process waiting for the daemon's drain; SIGTERM,
      // sent to this process alone, is passed on.
      process.exitCode = await runDaemon([...(await configFlags(options.dataDir)), ...(api ? ["--api", api] : []), ...flags], { forwardTerm: true });
    });

  provider
    .command("status")
    .option("--data-dir <dir>", "the daemon's data folder (its key is there)", defaultDataDir())
    .option("--address <address>", "another provider's address instead of this one's")
    .description("stake, reputation, jobs running and earnings, as the network has indexed them")
    .action(async (options: ProviderDirOptions & { address?: string }) => {
      const c = ctx();
      const address = options.address ?? (await loadOrCreateKeyFile(keyFileIn(options.dataDir))).account.address;
      const profile = await (await c.anonymous()).providerProfile(address);
      c.output.result(profile, (p) => [
        `provider ${p.address}: ${p.registered ? `staked ${formatEther(BigInt(p.stake_wei))} ETH` : "not registered (pond provider register --stake-eth 1)"}${p.unbonding_at ? `, unbonding until ${p.unbonding_at}` : ""}`,
        `  ${p.online ? "online" : "offline"}; jobs running ${p.jobs.running}, succeeded ${p.jobs.succeeded}, failed ${p.jobs.failed}`,
        `  reputation: ${p.reputation.jobs_settled} settled, ${p.reputation.jobs_challenged} challenged, ${p.reputation.jobs_slashed} slashed`,
        `  earned ${formatEther(BigInt(p.earnings_wei))} ETH`,
      ]);
    });

  provider
    .command("register")
    .description("stake ETH in the market contract with the provider's key, so it can be paid")
    .requiredOption("--stake-eth <eth>", "how much to stake")
    .option("--data-dir <dir>", "the daemon's data folder (its key is there)", defaultDataDir())
    .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", DEFAULT_RPC)
    .action(async (options: ProviderDirOptions & { stakeEth: string; rpcUrl: string }) => {
      const c = ctx();
      const { account } = await loadOrCreateKeyFile(keyFileIn(options.dataDir));
      const stake = ethAmount(options.stakeEth);
      const hash = await sendMarketTx(options.rpcUrl, account, await new PondClient({ baseUrl: await c.api() }).chain(), { functionName: "register", value: stake });
      c.output.result({ provider: account.address, stake_wei: stake.toString(), transaction: hash }, () => `provider ${account.address} registered with ${options.stakeEth} ETH stake (${hash})`);
    });

  provider
    .command("unbond")
    .description("start taking stake out (it stays locked for the market's unbonding delay), or --complete it after")
    .argument("[eth]", "how much stake to unbond")
    .option("--complete", "finish an unbonding whose delay has passed: the stake moves to the provider's balance")
    .option("--data-dir <dir>", "the daemon's data folder (its key is there)", defaultDataDir())
    .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", DEFAULT_RPC)
    .action(async (eth: string | undefined, options: ProviderDirOptions & { complete?: boolean; rpcUrl: string }) => {
      const c = ctx();
      if (!options.complete && eth === undefined) throw new UsageError("say how much to unbond (pond provider unbond 0.5), or finish one with --complete");
      const { account } = await loadOrCreateKeyFile(keyFileIn(options.dataDir));
      const chain = await new PondClient({ baseUrl: await c.api() }).chain();
      const write = options.complete ? { functionName: "completeUnbond" as const } : { functionName: "requestUnbond" as const, amount: ethAmount(eth!) };
      const hash = await sendMarketTx(options.rpcUrl, account, chain, write);
      c.output.result({ provider: account.address, transaction: hash, ...(options.complete ? { completed: true } : { unbonding_wei: ethAmount(eth!).toString() }) }, () =>
        options.complete ? `unbonding completed for ${account.address} (${hash}): withdraw it with pond provider withdraw <eth>` : `unbonding ${eth} ETH of ${account.address}'s stake (${hash})`,
      );
    });

  provider
    .command("withdraw")
    .description("take the provider's balance (earnings, completed unbonding) out of the market")
    .argument("<eth>", "how much")
    .option("--data-dir <dir>", "the daemon's data folder (its key is there)", defaultDataDir())
    .option("--rpc-url <url>", "the chain's JSON-RPC endpoint", DEFAULT_RPC)
    .action(async (eth: string, options: ProviderDirOptions & { rpcUrl: string }) => {
      const c = ctx();
      const { account } = await loadOrCreateKeyFile(keyFileIn(options.dataDir));
      const amount = ethAmount(eth);
      const hash = await sendMarketTx(options.rpcUrl, account, await new PondClient({ baseUrl: await c.api() }).chain(), { functionName: "withdraw", amount });
      c.output.result({ provider: account.address, withdrawn_wei: amount.toString(), transaction: hash }, () => `withdrew ${formatEther(amount)} ETH to ${account.address} (${hash})`);
    });
}

/** `--config` for the file `pond provider init` wrote, and the data folder either way. */
async function configFlags(dataDir: string): Promise<string[]> {
  const config = configFileIn(dataDir);
  const exists = await access(config).then(() => true, () => false);
  return [...(exists ? ["--config", config] : []), "--data-dir", dataDir];
}

/** Runs the daemon (or its doctor) as a child, and maps its exit to the CLI's codes. */
async function runDaemon(args: string[], options: { forwardTerm?: boolean } = {}): Promise<number> {
  const daemon = spawn(process.execPath, ["--import", "tsx", providerMain, ...args], { stdio: "inherit" });
  if (options.forwardTerm) {
    process.on("SIGINT", () => undefined);
    process.on("SIGTERM", () => daemon.kill("SIGTERM"));
  }
  const code = await new Promise<number>((resolve, reject) => {
    daemon.on("error", (error) => reject(new EnvironmentError(`could not start the provider daemon: ${error.message}`)));
    daemon.on("exit", (exit) => resolve(exit ?? exitCodes.internal));
  });
  if (code === DAEMON_NO_DOCKER) {
    console.error("pond: the Docker engine cannot be reached: install Docker (or start it), and check you may use its socket");
    return exitCodes.environment;
  }
  // The daemon has said what is wrong with its configuration.
  if (code === DAEMON_BAD_CONFIG) return exitCodes.usage;
  return code;
}
