// What the relayer is asked to put on chain, and how a batch of it becomes one
// contract call. Pure: the DO persists intents; this turns them into calldata.
import { encodeFunctionData, parseSignature, signatureToCompactSignature, type Address, type Hex } from "viem";
import { z } from "zod";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";

export const intentKinds = ["reserve", "result", "release", "settle"] as const;
export type IntentKind = (typeof intentKinds)[number];

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/).transform((v) => v as Hex);

export const ReservePayload = z.object({ creator: hex, specHash: hex, maxPriceWei: z.string(), deadline: z.int(), signature: hex });
export const ResultPayload = z.object({ resultHash: hex, amountWei: z.string(), signature: hex });
export const EmptyPayload = z.object({});

export type Intent =
  | { kind: "reserve"; jobId: string; chainJobId: Hex; payload: z.infer<typeof ReservePayload>; notBefore?: number }
  | { kind: "result"; jobId: string; chainJobId: Hex; payload: z.infer<typeof ResultPayload>; notBefore?: number }
  | { kind: "release" | "settle"; jobId: string; chainJobId: Hex; payload: Record<string, never>; notBefore?: number };

const payloadSchemas = { reserve: ReservePayload, result: ResultPayload, release: EmptyPayload, settle: EmptyPayload } as const;

/** Parses a stored intent's payload back (storage reads are parsed like any boundary). */
export function parsePayload(kind: IntentKind, json: string): Intent["payload"] {
  return payloadSchemas[kind].parse(JSON.parse(json)) as Intent["payload"];
}

const compact = (signature: Hex) => signatureToCompactSignature(parseSignature(signature));

/** Which intents must be on chain before one of this kind can go. */
export const dependsOn: Record<IntentKind, IntentKind | undefined> = {
  reserve: undefined,
  result: "reserve",
  release: "reserve",
  settle: "result",
};

export const functionFor = { reserve: "reserveJobs", result: "submitResults", release: "releaseJobs", settle: "settleJobs" } as const;

/** The calldata of one batch: every intent of one kind, in one call. */
export function batchCalldata(kind: IntentKind, intents: readonly Intent[]): Hex {
  switch (kind) {
    case "reserve":
      return encodeFunctionData({
        abi: pondMarketAbi,
        functionName: "reserveJobs",
        args: [
          intents.map((intent) => {
            const p = intent.payload as z.infer<typeof ReservePayload>;
            return { jobId: intent.chainJobId, creator: p.creator as Address, specHash: p.specHash, maxPrice: BigInt(p.maxPriceWei), deadline: BigInt(p.deadline), creatorSignature: compact(p.signature) };
          }),
        ],
      });
    case "result":
      return encodeFunctionData({
        abi: pondMarketAbi,
        functionName: "submitResults",
        args: [
          intents.map((intent) => {
            const p = intent.payload as z.infer<typeof ResultPayload>;
            return { jobId: intent.chainJobId, resultHash: p.resultHash, amount: BigInt(p.amountWei), providerSignature: compact(p.signature) };
          }),
        ],
      });
    case "release":
      return encodeFunctionData({ abi: pondMarketAbi, functionName: "releaseJobs", args: [intents.map((i) => i.chainJobId)] });
    case "settle":
      return encodeFunctionData({ abi: pondMarketAbi, functionName: "settleJobs", args: [intents.map((i) => i.chainJobId)] });
  }
}
