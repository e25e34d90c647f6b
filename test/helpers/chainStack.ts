// The settling stack for end-to-end tests: anvil with PondMarket deployed,
// `wrangler dev` configured to index it and relay to it, and helpers for
// creators who deposit and providers who stake — all real transactions.
import { join } from "node:path";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { keccak256, parseEther, stringToHex, type Address } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { sendMarketTx } from "../../cli/marketTx.ts";
import { PondClient } from "../../sdk/index.ts";
import { loadOrCreateKeyFile } from "../../keys/keyFile.ts";
import { deployMarket, fundedAccount, startAnvil, testAccount, type Anvil, type MarketParams, type StartAnvilOptions } from "./anvil.ts";
import { startProvider, type ProviderProcess } from "./providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "./wranglerDev.ts";

export interface ChainStack {
  anvil: Anvil;
  market: Address;
  dev: WranglerDev;
  relayer: PrivateKeyAccount;
  /** A signed-in creator whose escrow holds `depositEth`. */
  creator(label: string, depositEth?: string): Promise<{ wallet: PrivateKeyAccount; client: PondClient }>;
  /** A provider daemon whose key has `stakeEth` staked in the market. */
  provider(flags?: string[], stakeEth?: string): Promise<ProviderProcess>;
  stop(): Promise<void>;
}

export async function startChainStack(
  options: { params?: Partial<MarketParams>; vars?: Record<string, string>; anvil?: StartAnvilOptions } = {},
): Promise<ChainStack> {
  const anvil = await startAnvil(options.anvil);
  try {
    const deployer = await fundedAccount(anvil, "deployer");
    const relayer = await fundedAccount(anvil, "relayer");
    const market = await deployMarket(anvil, { deployer, relayer: relayer.address, params: { challengeWindow: 60, releaseGrace: 60, ...options.params } });
    const startBlock = await anvil.publicClient.getBlockNumber();
    const dev = await startWranglerDev({
      HUB_SHARDS: "2",
      RPC_URL: anvil.rpcUrl,
      MARKET_ADDRESS: market,
      MARKET_START_BLOCK: String(startBlock),
      // testAccount("relayer")'s key, as test/helpers/anvil.ts derives it.
      RELAYER_PRIVATE_KEY: keccak256(stringToHex("pond-test-account:relayer")),
      CONFIRMATIONS: "0",
      INDEXER_INTERVAL_MS: "300",
      RELAYER_INTERVAL_MS: "300",
      ...options.vars,
    });
    const providers: ProviderProcess[] = [];
    const stack: ChainStack = {
      anvil,
      market,
      dev,
      relayer,
      async creator(label, depositEth) {
        const wallet = await fundedAccount(anvil, label);
        const client = new PondClient({ baseUrl: stack.dev.url });
        await client.signIn(wallet);
        if (depositEth) await sendMarketTx(anvil.rpcUrl, wallet, await client.chain(), { functionName: "deposit", value: parseEther(depositEth) });
        return { wallet, client };
      },
      async provider(flags = [], stakeEth = "1") {
        const dir = await mkdtemp(join(tmpdir(), "pond-provider-"));
        const { account } = await loadOrCreateKeyFile(join(dir, "provider.key"));
        await anvil.testClient.setBalance({ address: account.address, value: parseEther("100") });
        await sendMarketTx(anvil.rpcUrl, account, await new PondClient({ baseUrl: stack.dev.url }).chain(), { functionName: "register", value: parseEther(stakeEth) });
        const provider = await startProvider(stack.dev.url, flags, dir);
        providers.push(provider);
        return provider;
      },
      async stop() {
        // Each part stopped whatever another's stop threw: a failed stop must not leave wrangler and anvil running.
        const stopped = await Promise.allSettled(providers.map((p) => p.remove()));
        stopped.push(...(await Promise.allSettled([stack.dev.stop()])));
        await anvil.stop();
        const failed = stopped.find((outcome): outcome is PromiseRejectedResult => outcome.status === "rejected");
        if (failed) throw failed.reason;
      },
    };
    return stack;
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}

export { testAccount };
