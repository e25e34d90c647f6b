// Deploys PondMarket from contracts/generated/pondMarket.ts and records where.
//
//   npx tsx scripts/deploy.ts --network anvil --rpc-url http://127.0.0.1:8545 --out .pond/market.json
//   RPC_URL=… DEPLOYER_PRIVATE_KEY=… RELAYER_ADDRESS=… npx tsx scripts/deploy.ts --network arbitrum-sepolia --out deployments/arbitrum-sepolia.json
//
// Environment (flags win over it): RPC_URL, DEPLOYER_PRIVATE_KEY, RELAYER_ADDRESS,
// OWNER_ADDRESS and TREASURY_ADDRESS (both default to the deployer). On anvil the
// key defaults to anvil's first well-known development account. The key is never
// printed or written anywhere.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createPublicClient, createWalletClient, defineChain, getAddress, http, parseEther, type Address, type Chain, type ContractFunctionReturnType, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { arbitrum, arbitrumSepolia } from "viem/chains";
import { z } from "zod";
import { pondMarketAbi, pondMarketBytecode, solcVersion } from "../contracts/generated/pondMarket.ts";

export type Network = "anvil" | "arbitrum-sepolia" | "arbitrum";

/** PondMarket's constructor rules, typed from the ABI (MarketParams in contracts/src/PondTypes.sol). */
export type MarketParams = ContractFunctionReturnType<typeof pondMarketAbi, "view", "marketParams">;

const HOUR = 3_600;
const DAY = 24 * HOUR;

/** The rules each network gets. Local runs keep windows short so a whole challenge plays out in minutes. */
export const networkParams: Record<Network, { params: MarketParams; protocolFeeBps: number }> = {
  anvil: {
    protocolFeeBps: 100,
    params: {
      minStake: parseEther("1"),
      challengeBond: parseEther("0.1"),
      challengeWindow: 60,
      unbondingDelay: 600,
      mediationTimeout: 300,
      releaseGrace: 60,
      slashMultiplier: 4,
      mediatorBondShareBps: 5_000,
      mediatorSlashShareBps: 2_000,
    },
  },
  "arbitrum-sepolia": {
    protocolFeeBps: 100,
    params: {
      minStake: parseEther("0.01"),
      challengeBond: parseEther("0.001"),
      challengeWindow: HOUR,
      unbondingDelay: 2 * DAY,
      mediationTimeout: DAY,
      releaseGrace: HOUR,
      slashMultiplier: 4,
      mediatorBondShareBps: 5_000,
      mediatorSlashShareBps: 2_000,
    },
  },
  arbitrum: {
    protocolFeeBps: 100,
    params: {
      minStake: parseEther("0.1"),
      challengeBond: parseEther("0.01"),
      challengeWindow: 6 * HOUR,
      unbondingDelay: 7 * DAY,
      mediationTimeout: 2 * DAY,
      releaseGrace: DAY,
      slashMultiplier: 4,
      mediatorBondShareBps: 5_000,
      mediatorSlashShareBps: 2_000,
    },
  },
};

/** anvil's first development account: public knowledge, funded on every fresh anvil. Never use it elsewhere. */
const ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address").transform((a) => getAddress(a));
const privateKey = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "DEPLOYER_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key")
  .transform((k) => k as Hex);

const DeployConfigSchema = z
  .object({
    network: z.enum(["anvil", "arbitrum-sepolia", "arbitrum"]),
    rpcUrl: z.url().optional(),
    deployerKey: privateKey.optional(),
    relayer: address.optional(),
    owner: address.optional(),
    treasury: address.optional(),
    out: z.string().min(1).optional(),
    confirmMainnet: z.boolean(),
  })
  .superRefine((c, ctx) => {
    if (c.network === "anvil") return;
    if (!c.rpcUrl) ctx.addIssue({ code: "custom", path: ["rpcUrl"], message: `RPC_URL (or --rpc-url) is required for ${c.network}` });
    if (!c.deployerKey) ctx.addIssue({ code: "custom", path: ["deployerKey"], message: `DEPLOYER_PRIVATE_KEY is required for ${c.network}` });
    if (!c.relayer) ctx.addIssue({ code: "custom", path: ["relayer"], message: `RELAYER_ADDRESS (or --relayer) is required for ${c.network}` });
    if (c.network === "arbitrum" && !c.confirmMainnet) {
      ctx.addIssue({ code: "custom", path: ["confirmMainnet"], message: "deploying to Arbitrum One spends real ETH: pass --confirm-mainnet" });
    }
  });

export type DeployConfig = z.infer<typeof DeployConfigSchema>;

export interface Deployment {
  network: Network;
  chainId: number;
  address: Address;
  transactionHash: Hex;
  blockNumber: string;
  deployer: Address;
  owner: Address;
  relayer: Address;
  treasury: Address;
  protocolFeeBps: number;
  params: Record<keyof MarketParams, string | number>;
  solcVersion: string;
}

export class DeployConfigError extends Error {
  override name = "DeployConfigError";
}

/** Reads flags and environment into a checked config; the error lists every problem at once. */
export function parseDeployConfig(argv: string[], env: NodeJS.ProcessEnv): DeployConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      network: { type: "string", default: "anvil" },
      "rpc-url": { type: "string" },
      relayer: { type: "string" },
      owner: { type: "string" },
      treasury: { type: "string" },
      out: { type: "string" },
      "confirm-mainnet": { type: "boolean", default: false },
    },
    strict: true,
  });
  const parsed = DeployConfigSchema.safeParse({
    network: values.network,
    rpcUrl: values["rpc-url"] ?? env.RPC_URL,
    deployerKey: env.DEPLOYER_PRIVATE_KEY || undefined,
    relayer: values.relayer ?? (env.RELAYER_ADDRESS || undefined),
    owner: values.owner ?? (env.OWNER_ADDRESS || undefined),
    treasury: values.treasury ?? (env.TREASURY_ADDRESS || undefined),
    out: values.out,
    confirmMainnet: values["confirm-mainnet"],
  });
  if (!parsed.success) {
    // Messages name the setting, never its value: a malformed key must not end up in a log.
    throw new DeployConfigError(parsed.error.issues.map((i) => `${i.path.join(".") || "config"}: ${i.message}`).join("\n"));
  }
  return parsed.data;
}

function chainFor(network: Network, chainId: number, rpcUrl: string): Chain {
  if (network === "arbitrum-sepolia") return arbitrumSepolia;
  if (network === "arbitrum") return arbitrum;
  return defineChain({ id: chainId, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
}

/** Deploys PondMarket with the network's rules and resolves once the deployment is mined. */
export async function deployPondMarket(config: DeployConfig): Promise<Deployment> {
  const rpcUrl = config.rpcUrl ?? "http://127.0.0.1:8545";
  const transport = http(rpcUrl);
  const probe = createPublicClient({ transport });
  const chainId = await probe.getChainId();
  const chain = chainFor(config.network, chainId, rpcUrl);
  if (chain.id !== chainId) throw new DeployConfigError(`${rpcUrl} serves chain ${chainId}, not ${config.network} (${chain.id})`);

  const account = privateKeyToAccount(config.deployerKey ?? ANVIL_DEV_KEY);
  const owner = config.owner ?? account.address;
  const relayer = config.relayer ?? account.address;
  const treasury = config.treasury ?? owner;
  const { params, protocolFeeBps } = networkParams[config.network];

  const publicClient = createPublicClient({ chain, transport });
  const wallet = createWalletClient({ account, chain, transport });
  const transactionHash = await wallet.deployContract({ abi: pondMarketAbi, bytecode: pondMarketBytecode, args: [owner, relayer, treasury, protocolFeeBps, params] });
  const receipt = await publicClient.waitForTransactionReceipt({ hash: transactionHash });
  if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`the deployment transaction ${transactionHash} reverted`);

  return {
    network: config.network,
    chainId,
    address: getAddress(receipt.contractAddress),
    transactionHash,
    blockNumber: receipt.blockNumber.toString(),
    deployer: account.address,
    owner,
    relayer,
    treasury,
    protocolFeeBps,
    params: { ...params, minStake: params.minStake.toString(), challengeBond: params.challengeBond.toString() },
    solcVersion,
  };
}

async function main(): Promise<void> {
  const config = parseDeployConfig(process.argv.slice(2), process.env);
  const deployment = await deployPondMarket(config);
  console.log(`PondMarket deployed on ${deployment.network} (chain ${deployment.chainId}) at ${deployment.address}`);
  console.log(`  owner ${deployment.owner}, relayer ${deployment.relayer}, treasury ${deployment.treasury}, tx ${deployment.transactionHash}`);
  if (config.out) {
    const path = resolve(config.out);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, `${JSON.stringify(deployment, null, 2)}\n`);
    console.log(`  written to ${path}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof DeployConfigError ? `deploy: ${error.message}` : error);
    process.exit(1);
  });
}
