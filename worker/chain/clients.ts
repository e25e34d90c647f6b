// viem clients for the configured chain; each throws, saying what to set, when
// the Worker is not configured for it (isChainConfigured in config/config.ts).
import { createPublicClient, createWalletClient, http, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { chainOf } from "../config/chains.ts";
import type { Config } from "../config/config.ts";

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
