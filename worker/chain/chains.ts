// The chains Pond runs on, by config name, as viem defines them.
import type { Chain } from "viem";
import { anvil, arbitrum, arbitrumSepolia } from "viem/chains";
import type { Config } from "../config.ts";

const chains: Record<Config["chain"]["name"], Chain> = {
  anvil,
  "arbitrum-sepolia": arbitrumSepolia,
  arbitrum,
};

export function chainOf(config: Config): Chain {
  return chains[config.chain.name];
}
