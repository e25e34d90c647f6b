// Sends a transaction to the market contract from a local wallet (a creator's
// deposit or challenge, a provider's stake) and waits for it to be mined.
import { createPublicClient, createWalletClient, defineChain, http, parseSignature, signatureToCompactSignature, type Address, type Hex } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import { pondMarketAbi } from "../contracts/generated/pondMarket.ts";
import type { ChainInfo } from "../protocol/account.ts";

export type MarketWrite =
  | { functionName: "deposit" | "register" | "addStake"; value: bigint }
  | { functionName: "withdraw" | "requestUnbond"; amount: bigint }
  | { functionName: "completeUnbond" }
  | { functionName: "challenge"; jobId: Hex; resultHash: Hex; providerSignature: Hex; bond?: bigint };

export async function sendMarketTx(rpcUrl: string, wallet: PrivateKeyAccount, chain: ChainInfo, write: MarketWrite): Promise<Hex> {
  if (!chain.settles_on_chain || !chain.market_address) throw new Error("this Pond API does not settle on chain: there is no market contract to pay into");
  const viemChain = defineChain({ id: chain.chain_id, name: chain.chain, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const transport = http(rpcUrl);
  const client = createPublicClient({ chain: viemChain, transport });
  const walletClient = createWalletClient({ chain: viemChain, transport, account: wallet });
  const address = chain.market_address as Address;
  let hash: Hex;
  switch (write.functionName) {
    case "withdraw":
    case "requestUnbond":
      hash = await walletClient.writeContract({ address, abi: pondMarketAbi, functionName: write.functionName, args: [write.amount] });
      break;
    case "completeUnbond":
      hash = await walletClient.writeContract({ address, abi: pondMarketAbi, functionName: "completeUnbond" });
      break;
    case "challenge": {
      // The bond is the market's challengeBond unless more is offered.
      const bond = write.bond ?? (await client.readContract({ address, abi: pondMarketAbi, functionName: "marketParams" })).challengeBond;
      const compact = signatureToCompactSignature(parseSignature(write.providerSignature));
      hash = await walletClient.writeContract({ address, abi: pondMarketAbi, functionName: "challenge", args: [write.jobId, write.resultHash, compact], value: bond });
      break;
    }
    default:
      hash = await walletClient.writeContract({ address, abi: pondMarketAbi, functionName: write.functionName, value: write.value });
  }
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`the transaction ${hash} reverted`);
  return hash;
}
