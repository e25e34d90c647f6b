// The chain a configuration names, as viem defines it, and the EIP-712 domain
// that jobs, acceptances and results are signed under there.
import { zeroAddress, type Chain } from "viem";
import { anvil, arbitrum, arbitrumSepolia } from "viem/chains";
import { pondDomain } from "../../protocol/eip712.ts";
import type { Config } from "./config.ts";

const chains: Record<Config["chain"]["name"], Chain> = {
  anvil,
  "arbitrum-sepolia": arbitrumSepolia,
  arbitrum,
};

export function chainOf(config: Config): Chain {
  return chains[config.chain.name];
}

/** Where a transaction can be looked at (Arbiscan on Arbitrum); null on a chain with no explorer (anvil). */
export function explorerTxUrl(config: Config, txHash: string): string | null {
  const explorer = chainOf(config).blockExplorers?.default.url;
  return explorer ? `${explorer.replace(/\/$/, "")}/tx/${txHash}` : null;
}

export function marketDomain(config: Config) {
  return pondDomain(chainOf(config).id, config.chain.marketAddress ?? zeroAddress);
}
