// viem clients for the configured chain. Undefined when the Worker is not
// configured to settle on chain (no RPC_URL or MARKET_ADDRESS).
import { createPublicClient, createWalletClient, http, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Config } from "../config.ts";
import { chainOf } from "./chains.ts";

export function isChainConfigured(config: Config): boolean {
  return config.chain.rpcUrl !== undefined && config.chain.marketAddress !== undefined;
}

export function marketOf(config: Config): Address {
  if (!config.chain.marketAddress) throw new Error("MARKET_ADDRESS is not set");
  return config.chain.marketAddress;
}

export function publicClientOf(config: Config) {
  if (!config.chain.rpcUrl) throw new Error("RPC_URL is not set: the Worker cannot read the chain");
  return createPublicClient({ chain: chainOf(config), transport: http(config.chain.rpcUrl, { retryCount: 2 }) });
}
export type ChainPublicClient = ReturnType<typeof publicClientOf>;

export function relayerWalletOf(config: Config) {
  if (!config.chain.rpcUrl || !config.chain.relayerKey) throw new Error("RPC_URL and RELAYER_PRIVATE_KEY must be set for the relayer");
  return createWalletClient({ chain: chainOf(config), transport: http(config.chain.rpcUrl, { retryCount: 2 }), account: privateKeyToAccount(config.chain.relayerKey) });
}
export type RelayerWallet = ReturnType<typeof relayerWalletOf>;
