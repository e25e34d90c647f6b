// A local network for `pond` as a user runs it: wrangler dev settling on anvil, a
// staked provider on the Docker engine, a local registry serving the shipped
// templates' image pinned by digest, and a creator who has signed in, taken test
// ETH from the faucet and paid 1 ETH into escrow, each with the CLI itself.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { publishShippedTemplates } from "../../scripts/localTemplates.ts";
import { startChainStack, type ChainStack } from "./chainStack.ts";
import { runPond, type CliResult } from "./pondCli.ts";
import { startRegistry, type LocalRegistry } from "./registry.ts";

export interface CliNetwork {
  stack: ChainStack;
  registry: LocalRegistry;
  /** The creator's POND_HOME. */
  home: string;
  providerAddress: string;
  /** Runs `pond …` as the creator would, with its own config folder. */
  pond(args: string[], env?: Record<string, string>): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function startCliNetwork(label: string): Promise<CliNetwork> {
  const stack = await startChainStack();
  const home = await mkdtemp(join(tmpdir(), `pond-${label}-home-`));
  const registry = await startRegistry();
  const pond = (args: string[], env: Record<string, string> = {}) => runPond(args, { home, api: stack.dev.url, env });
  const network: CliNetwork = {
    stack,
    registry,
    home,
    providerAddress: "",
    pond,
    async stop() {
      await stack.stop();
      await registry.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await publishShippedTemplates({ api: stack.dev.url, registry, stateDir: home });
    network.providerAddress = (await stack.provider()).address;
    // The creator's own first minutes: sign in, get test ETH, pay into escrow.
    for (const args of [["login"], ["faucet", "--rpc-url", stack.anvil.rpcUrl], ["deposit", "1", "--rpc-url", stack.anvil.rpcUrl]]) {
      const result = await pond(args);
      if (result.code !== 0) throw new Error(`pond ${args[0]} exited ${result.code}: ${result.stderr}`);
    }
  } catch (error) {
    await network.stop();
    throw error;
  }
  return network;
}

/** The JSON a command printed, once it is known to have exited 0. */
export function printedJson<T>(result: CliResult): T {
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}
