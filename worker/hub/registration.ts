// What the chain says about a provider when it connects or is offered work:
// whether it has stake (and so can be paid), and its reputation.
import { eq } from "drizzle-orm";
import type { Address } from "viem";
import { indexerOf } from "../bindings/objects.ts";
import { isChainConfigured, type Config } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import { chainProviders } from "../db/schema.ts";
import { reputationScore } from "../matching/reputation.ts";

/**
 * Where jobs settle on chain, only a provider with stake in the market can be
 * paid (the contract refuses results from anyone else): others are turned away, saying why.
 */
export async function unregisteredReason(env: Env, config: Config, address: Address): Promise<string | undefined> {
  if (!isChainConfigured(config)) return undefined;
  const staked = async () => {
    const row = (await createDb(env.DB).select({ stake: chainProviders.stakeWei }).from(chainProviders).where(eq(chainProviders.address, address)))[0];
    return row !== undefined && BigInt(row.stake) > 0n;
  };
  if (await staked()) return undefined;
  await indexerOf(env).sync(); // a registration newer than the index
  if (await staked()) return undefined;
  return `provider ${address} has no stake in the market contract ${config.chain.marketAddress}: register first (npm run pond -- provider register)`;
}

export async function reputationOf(env: Env, address: Address): Promise<number> {
  const row = (await createDb(env.DB).select().from(chainProviders).where(eq(chainProviders.address, address)))[0];
  return row ? reputationScore(row) : 0;
}
