// A real local EVM for tests and benchmarks: starts anvil (from the npm package)
// on 127.0.0.1 at a free port, hands out viem clients and deterministic funded
// accounts, deploys PondMarket, and stops anvil by its process id.
//
//   const anvil = await startAnvil();
//   try {
//     const deployer = await fundedAccount(anvil, "deployer");
//     const market = await deployMarket(anvil, { deployer, relayer: deployer.address });
//     ...
//   } finally {
//     await anvil.stop();
//   }
import { join } from "node:path";
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  keccak256,
  parseEther,
  stringToHex,
  type Account,
  type Address,
  type Chain,
  type ContractFunctionReturnType,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { pondMarketAbi, pondMarketBytecode } from "../../contracts/generated/pondMarket.ts";
import { freePort } from "./freePort.ts";
import { spawnProcess, type Spawned } from "./processes.ts";

const ANVIL_BIN = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "anvil");

export interface StartAnvilOptions {
  /** Chain id anvil reports (31337 by default); signatures bind to it through the EIP-712 domain. */
  chainId?: number;
  /** Mine a block every N seconds instead of one per transaction (automine, the default). Must be positive. */
  blockTime?: number;
  /** Block gas limit (anvil's default, 30M, when omitted). */
  gasLimit?: bigint;
  /** e.g. "cancun", "prague"; anvil's default when omitted. */
  hardfork?: string;
  /** How long to wait for anvil to answer, in ms. */
  startTimeoutMs?: number;
  /**
   * Calls made together (Promise.all) go to anvil in one JSON-RPC batch. Less CPU per call
   * (the invariant walk: 29 s instead of 40), more wait for calls made one by one.
   */
  batchCalls?: boolean;
  /** More anvil flags, e.g. ["--steps-tracing"] for opcode-level debug_traceTransaction. */
  extraArgs?: string[];
  /**
   * A file anvil loads its chain from at start and writes it to when stopped
   * (`--state`): blocks, receipts and accounts survive `restart()`. Pending
   * transactions do not, as on a real node that loses its mempool.
   */
  statePath?: string;
}

export interface Anvil {
  rpcUrl: string;
  port: number;
  /** Process id of the anvil launcher; stop() signals its whole process group. */
  pid: number;
  chainId: number;
  /** A viem chain pointing at this anvil. */
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  testClient: TestClient<"anvil", Transport, Chain>;
  /** A wallet client that signs locally with `account` and sends to this anvil. */
  walletFor(account: Account): WalletClient<Transport, Chain, Account>;
  /** Moves block time forward by `seconds` and mines a block, so the next transaction sees the new time. */
  increaseTime(seconds: number | bigint): Promise<void>;
  /** Everything anvil printed, for failure messages. */
  output(): string;
  /**
   * Stops anvil (SIGTERM, so a `statePath` is written) and starts it again on
   * the same port with the same flags; the clients above keep working.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts anvil on 127.0.0.1 at a free port and resolves once it answers JSON-RPC. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  if (options.blockTime !== undefined && options.blockTime <= 0) throw new Error("blockTime must be positive (omit it for automine)");
  // freePort() releases the port before anvil binds it; another process may take it in between, so retry.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(await freePort(), options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function launch(port: number, options: StartAnvilOptions): Promise<Anvil> {
  const chainId = options.chainId ?? 31337;
  const args = ["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--accounts", "1"];
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  if (options.gasLimit !== undefined) args.push("--gas-limit", options.gasLimit.toString());
  if (options.hardfork !== undefined) args.push("--hardfork", options.hardfork);
  if (options.statePath !== undefined) args.push("--state", options.statePath);
  if (options.extraArgs) args.push(...options.extraArgs);
  let process_ = await spawnAnvil(port, args, options.startTimeoutMs);
  const killOnExit = () => killGroup(process_);
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    await process_.stop();
  };

  const rpcUrl = `http://127.0.0.1:${port}`;
  const chain = defineChain({
    id: chainId,
    name: `anvil-${port}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const transport = http(rpcUrl, { retryCount: 0, batch: options.batchCalls ?? false });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
  const testClient = createTestClient({ chain, transport, mode: "anvil" });
  try {
    await publicClient.getChainId();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    rpcUrl,
    port,
    get pid() {
      return process_.child.pid!;
    },
    chainId,
    chain,
    publicClient,
    testClient,
    walletFor: (account) => createWalletClient({ account, chain, transport }),
    async increaseTime(seconds) {
      await testClient.increaseTime({ seconds: Number(seconds) });
      await testClient.mine({ blocks: 1 });
    },
    output: () => process_.output(),
    async restart() {
      const last = await publicClient.getBlock({ blockTag: "latest" });
      await process_.stop();
      process_ = await respawnAnvil(port, args, options.startTimeoutMs);
      // The state file keeps the blocks but not the clock offset that increaseTime() set: without
      // this, time on the restarted chain would run backwards, which no real chain does.
      const behind = Number(last.timestamp) + 1 - Math.floor(Date.now() / 1000);
      if (behind > 0) await testClient.increaseTime({ seconds: behind });
    },
    stop,
  };
}

/** Starts the anvil binary and resolves once it listens; stops it again if it never does. */
async function spawnAnvil(port: number, args: string[], startTimeoutMs = 30_000): Promise<Spawned> {
  const spawned = spawnProcess(ANVIL_BIN, args, { name: `anvil:${port}` });
  try {
    await spawned.waitFor(new RegExp(`Listening on 127\\.0\\.0\\.1:${port}`), startTimeoutMs);
  } catch (error) {
    await spawned.stop();
    throw error;
  }
  return spawned;
}

/**
 * Starts anvil again on the port the last one had. `stop()` waits for npm's wrapper, and the anvil binary under it
 * may hold the port a moment longer ("Address already in use", seen in a clean-clone run): such a start is tried again.
 */
async function respawnAnvil(port: number, args: string[], startTimeoutMs?: number): Promise<Spawned> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await spawnAnvil(port, args, startTimeoutMs);
    } catch (error) {
      if (!/Address already in use/.test(String(error)) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Last resort when the test process exits without calling stop(): never leave an anvil behind. */
function killGroup(spawned: Spawned): void {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  try {
    process.kill(-spawned.child.pid!, "SIGKILL");
  } catch {
    // Already gone: nothing to clean up.
  }
}

/** A deterministic account derived from a label: the same label gives the same key in every run. */
export function testAccount(label: string): PrivateKeyAccount {
  return privateKeyToAccount(keccak256(stringToHex(`pond-test-account:${label}`)));
}

/** `testAccount(label)`, with its ETH balance set on this anvil (1,000 ETH by default). */
export async function fundedAccount(anvil: Anvil, label: string, balance: bigint = parseEther("1000")): Promise<PrivateKeyAccount> {
  const account = testAccount(label);
  await anvil.testClient.setBalance({ address: account.address, value: balance });
  return account;
}

/** PondMarket's constructor rules, typed from the ABI (MarketParams in contracts/src/PondTypes.sol). */
export type MarketParams = ContractFunctionReturnType<typeof pondMarketAbi, "view", "marketParams">;

/** Rules for local runs: small amounts, short windows, so time travel stays readable. */
export const localMarketParams: MarketParams = {
  minStake: parseEther("1"),
  challengeBond: parseEther("0.1"),
  challengeWindow: 3_600,
  unbondingDelay: 7 * 86_400,
  mediationTimeout: 86_400,
  releaseGrace: 3_600,
  slashMultiplier: 4,
  mediatorBondShareBps: 5_000,
  mediatorSlashShareBps: 2_000,
};

export interface DeployMarketOptions {
  deployer: Account;
  /** Defaults to the deployer. */
  owner?: Address;
  /** Defaults to the deployer. */
  relayer?: Address;
  /** Defaults to the owner. */
  treasury?: Address;
  protocolFeeBps?: number;
  params?: Partial<MarketParams>;
}

/** Deploys PondMarket from the generated bytecode and resolves with its address once mined. */
export async function deployMarket(anvil: Pick<Anvil, "publicClient" | "walletFor">, options: DeployMarketOptions): Promise<Address> {
  const owner = options.owner ?? options.deployer.address;
  const hash: Hex = await anvil.walletFor(options.deployer).deployContract({
    abi: pondMarketAbi,
    bytecode: pondMarketBytecode,
    args: [owner, options.relayer ?? options.deployer.address, options.treasury ?? owner, options.protocolFeeBps ?? 100, { ...localMarketParams, ...options.params }],
  });
  const receipt = await anvil.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`PondMarket deployment failed in ${hash}`);
  return getAddress(receipt.contractAddress);
}
