// Which relayer object a piece of work goes to: one per signing key, so each
// key's nonces have a single owner. (More keys would mean more objects.)
import type { Config } from "../config.ts";
import type { Env } from "../env.ts";

export function relayerFor(env: Env, config: Config) {
  if (!config.chain.relayerAddress) throw new Error("RELAYER_PRIVATE_KEY is not set");
  return env.RELAYER.get(env.RELAYER.idFromName(config.chain.relayerAddress));
}

export function indexerOf(env: Env) {
  return env.INDEXER.get(env.INDEXER.idFromName("market"));
}
