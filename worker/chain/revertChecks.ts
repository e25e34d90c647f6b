// Whether a revert that looks like "someone got there first" really means an
// intent is on chain, read from the contract: a reservation re-sent after its
// first transaction was mined under a hash we never saw, or a challenge step
// after the challenge ended, is done; the same revert for anything else is a
// real refusal.
import type { Address } from "viem";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import type { ChainPublicClient } from "./clients.ts";
import type { Intent } from "./intents.ts";
import { onChainStatuses } from "./onChainStatus.ts";

/** `wait`: the chain does not show either yet (a reorg under us): look again on a later tick. */
export type ChainAnswer = "done" | "fail" | "wait";

interface Market {
  client: ChainPublicClient;
  address: Address;
  /** Where the market's logs begin (its deployment block). */
  startBlock: bigint;
}

/** A reserve reverted JobIdUsed: done if the job id holds this very reservation (same creator, price and tolerant flag). */
export async function reservationAnswer(market: Market, intent: Extract<Intent, { kind: "reserve" }>): Promise<ChainAnswer> {
  const { client, address } = market;
  const job = await client.readContract({ address, abi: pondMarketAbi, functionName: "jobOf", args: [intent.chainJobId] });
  const creator = intent.payload.creator.toLowerCase();
  const maxPrice = BigInt(intent.payload.maxPriceWei);
  const sameFlag = job.tolerant === intent.payload.tolerant;
  switch (onChainStatuses[job.status]) {
    case "none":
      return "wait";
    case "reserved":
      return job.creator.toLowerCase() === creator && job.amount === maxPrice && sameFlag ? "done" : "fail";
    case "reported":
    case "challenged":
      // The word now holds the provider's claim, not the price: the creator and the flag are what is left to compare.
      return job.creator.toLowerCase() === creator && sameFlag ? "done" : "fail";
    default: {
      // Settled, released or refunded: the word keeps only the status, so the reservation's own event tells
      // (it does not carry the flag: creator and price must do).
      const reserved = await client.getContractEvents({ address, abi: pondMarketAbi, eventName: "JobReserved", args: { jobId: intent.chainJobId }, fromBlock: market.startBlock });
      return reserved.some((event) => event.args.creator?.toLowerCase() === creator && event.args.maxPrice === maxPrice) ? "done" : "fail";
    }
  }
}

/**
 * A challenge step (assign, resolve, judge, expire) reverted NotChallenged: done if the
 * job's challenge is over (settled or refunded: resolved, voided, or settled
 * before any challenge). Otherwise there is no challenge it could act on.
 */
export async function challengeAnswer(market: Market, intent: Intent): Promise<ChainAnswer> {
  const { client, address } = market;
  const job = await client.readContract({ address, abi: pondMarketAbi, functionName: "jobOf", args: [intent.chainJobId] });
  const status = onChainStatuses[job.status];
  return status === "settled" || status === "refunded" ? "done" : "fail";
}
