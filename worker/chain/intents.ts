// What the relayer is asked to put on chain, and how a batch of it becomes one
// contract call. Pure: the DO persists intents; this turns them into calldata.
import { encodeFunctionData, parseSignature, signatureToCompactSignature, type Address, type Hex } from "viem";
import { z } from "zod";
import { pondMarketAbi } from "../../contracts/generated/pondMarket.ts";
import { canonicalSignature } from "../../protocol/signature.ts";

export const intentKinds = ["reserve", "result", "release", "settle", "assign", "resolve", "judge", "expire"] as const;
export type IntentKind = (typeof intentKinds)[number];

/** Kinds whose contract function takes one job: each intent is its own transaction. */
export const singleJobKinds: ReadonlySet<IntentKind> = new Set(["assign", "resolve", "judge", "expire"]);

/** The kinds that carry a mediator's answer: the latest one sent replaces any not yet on chain (relayerStore.ts). */
export const mediatorAnswerKinds: ReadonlySet<IntentKind> = new Set(["resolve", "judge"]);

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/).transform((v) => v as Hex);

/** `tolerant`: the flag the creator signed (the spec's verify.mode is tolerant); intents stored before it existed were exact. */
export const ReservePayload = z.object({ creator: hex, specHash: hex, maxPriceWei: z.string(), deadline: z.int(), tolerant: z.boolean().default(false), signature: hex });
export const ResultPayload = z.object({ resultHash: hex, amountWei: z.string(), signature: hex });
/** An exact job's mediation: the mediator's result hash and its signature over Mediation(jobId, resultHash). */
export const ResolvePayload = z.object({ resultHash: hex, signature: hex });
/**
 * A tolerant job's mediation (judgeChallenge): the mediator's re-run's result hash, its
 * verdict, and its signature over Verdict(jobId, the provider's resultHash, rerunHash, upheld).
 */
export const JudgePayload = z.object({ rerunHash: hex, upheld: z.boolean(), signature: hex });
export type JudgePayload = z.infer<typeof JudgePayload>;
export const EmptyPayload = z.object({});

export type Intent =
  | { kind: "reserve"; jobId: string; chainJobId: Hex; payload: z.infer<typeof ReservePayload>; notBefore?: number }
  | { kind: "result"; jobId: string; chainJobId: Hex; payload: z.infer<typeof ResultPayload>; notBefore?: number }
  | { kind: "resolve"; jobId: string; chainJobId: Hex; payload: z.infer<typeof ResolvePayload>; notBefore?: number }
  | { kind: "judge"; jobId: string; chainJobId: Hex; payload: JudgePayload; notBefore?: number }
  | { kind: "release" | "settle" | "assign" | "expire"; jobId: string; chainJobId: Hex; payload: Record<string, never>; notBefore?: number };

const payloadSchemas = {
  reserve: ReservePayload,
  result: ResultPayload,
  release: EmptyPayload,
  settle: EmptyPayload,
  assign: EmptyPayload,
  resolve: ResolvePayload,
  judge: JudgePayload,
  expire: EmptyPayload,
} as const;

/** Parses a stored intent's payload back (storage reads are parsed like any boundary). */
export function parsePayload(kind: IntentKind, json: string): Intent["payload"] {
  return payloadSchemas[kind].parse(JSON.parse(json)) as Intent["payload"];
}

/**
 * The form the contract takes. Signatures are made canonical where they enter
 * (worker/security/signatures.ts); this does it again for intents stored before that was so.
 * Throws for a signature that has no canonical form: the relayer then fails that intent alone.
 */
function canonical(signature: Hex): Hex {
  const checked = canonicalSignature(signature);
  if (!checked.ok) throw new Error(`the signature is not usable: ${checked.reason}`);
  return checked.signature;
}

/** EIP-2098's compact form, which the batch calls take. */
const compact = (signature: Hex) => signatureToCompactSignature(parseSignature(canonical(signature)));

/** Which intents must be on chain before one of this kind can go. */
export const dependsOn: Record<IntentKind, IntentKind | undefined> = {
  reserve: undefined,
  result: "reserve",
  release: "reserve",
  settle: "result",
  assign: undefined,
  resolve: "assign",
  judge: "assign",
  expire: undefined,
};

/** Reverts that mean "not yet": the intent waits for a later tick. */
export const notYetErrors: ReadonlySet<string> = new Set(["SeedBlockNotMined", "ChallengeWindowOpen", "MediationNotExpired"]);
/** Reverts that can only mean "nothing left to do": someone else got there first. */
export const alreadyDoneErrors: ReadonlySet<string> = new Set(["MediatorAlreadyAssigned"]);

/**
 * What a revert means for an intent. `ask-chain`: it may be our own earlier
 * transaction that got there first, or a real refusal; only the chain's state
 * tells (JobIdUsed: is it our reservation? NotChallenged: did the challenge end,
 * or was there never one to act on?).
 */
export type RevertVerdict = "wait" | "done" | "fail" | "ask-chain";

export function revertVerdict(kind: IntentKind, reason: string): RevertVerdict {
  if (notYetErrors.has(reason)) return "wait";
  if (alreadyDoneErrors.has(reason)) return "done";
  if (reason === "JobIdUsed" && kind === "reserve") return "ask-chain";
  if (reason === "NotChallenged" && (kind === "assign" || kind === "resolve" || kind === "judge" || kind === "expire")) return "ask-chain";
  return "fail";
}

/**
 * Why `intent` can never go on chain, whatever else is in its batch, or undefined. Checked for each
 * intent on its own before a batch is built, so one that cannot even be encoded (a signature with no
 * canonical form) or whose authorization has run out fails alone instead of stopping every batch.
 */
export function hopelessReason(intent: Intent, chainTime: number): string | undefined {
  if (intent.kind === "reserve" && chainTime > intent.payload.deadline) {
    return `the authorization's deadline (${intent.payload.deadline}) passed before the reservation reached the chain`;
  }
  try {
    batchCalldata(intent.kind, [intent]);
    return undefined;
  } catch (error) {
    return `it cannot be encoded for the contract: ${(error as Error).message}`;
  }
}

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
            return {
              jobId: intent.chainJobId,
              creator: p.creator as Address,
              specHash: p.specHash,
              maxPrice: BigInt(p.maxPriceWei),
              deadline: BigInt(p.deadline),
              tolerant: p.tolerant,
              creatorSignature: compact(p.signature),
            };
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
    case "assign":
      return encodeFunctionData({ abi: pondMarketAbi, functionName: "assignMediator", args: [single(intents).chainJobId] });
    case "expire":
      return encodeFunctionData({ abi: pondMarketAbi, functionName: "expireChallenge", args: [single(intents).chainJobId] });
    case "resolve": {
      const intent = single(intents);
      const p = intent.payload as z.infer<typeof ResolvePayload>;
      return encodeFunctionData({ abi: pondMarketAbi, functionName: "resolveChallenge", args: [intent.chainJobId, p.resultHash, canonical(p.signature)] });
    }
    case "judge": {
      const intent = single(intents);
      const p = intent.payload as JudgePayload;
      return encodeFunctionData({ abi: pondMarketAbi, functionName: "judgeChallenge", args: [intent.chainJobId, p.rerunHash, p.upheld, canonical(p.signature)] });
    }
  }
}

function single(intents: readonly Intent[]): Intent {
  if (intents.length !== 1) throw new Error(`this call takes one job, not ${intents.length}`);
  return intents[0]!;
}
