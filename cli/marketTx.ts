// Sends a transaction to the market contract from a local wallet (a creator's
// deposit, a provider's stake) and waits for it to be mined.
import { createPublicClient, createWalletClient, defineChain, http, type Address, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { pondMarketAbi } from "../contracts/generated/pondMarket.ts";
import type { ChainInfo } from "../protocol/account.ts";

export type MarketWrite = { functionName: "deposit" | "register" | "addStake"; value: bigint } | { functionName: "withdraw"; amount: bigint };

export async function sendMarketTx(rpcUrl: string, wallet: PrivateKeyAccount, chain: ChainInfo, write: MarketWrite): Promise<Hex> {
  if (!chain.settles_on_chain || !chain.market_address) throw new Error("this Pond API does not settle on chain: there is no market contract to pay into");
  const viemChain = defineChain({ id: chain.chain_id, name: chain.chain, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const transport = http(rpcUrl);
  const client = createPublicClient({ chain: viemChain, transport });
  const walletClient = createWalletClient({ chain: viemChain, transport, account: wallet });
  const address = chain.market_address as Address;
  const hash =
    write.functionName === "withdraw"
      ? await walletClient.writeContract({ address, abi: pondMarketAbi, functionName: "withdraw", args: [write.amount] })
      : await walletClient.writeContract({ address, abi: pondMarketAbi, functionName: write.functionName, value: write.value });
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
  return hash;
}
