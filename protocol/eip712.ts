// EIP-712 typed data: defined once here, used by the Worker (verify), the
// provider and the CLI (sign) and hashed the same way by contracts/src/TypedSignatures.sol.
import { keccak256, stringToHex, type Address, type Hex, type TypedDataDomain } from "viem";
import type { JobSpec } from "./jobSpec.ts";
import { isTolerant } from "./verification.ts";

export const EIP712_NAME = "Pond";
export const EIP712_VERSION = "1";

export function pondDomain(chainId: number, verifyingContract: Address): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId, verifyingContract };
}

/**
 * What a creator signs to let a job be paid from its escrow. `tolerant` says how a
 * challenge is judged (protocol/verification.ts): true when the spec declares a
 * tolerant comparison, so the contract takes the mediator's Verdict instead of
 * comparing result hashes. Build the message with jobAuthorizationMessage.
 */
export const jobAuthorizationTypes = {
  JobAuthorization: [
    { name: "jobId", type: "bytes32" },
    { name: "specHash", type: "bytes32" },
    { name: "maxPrice", type: "uint256" },
    { name: "deadline", type: "uint64" },
    { name: "tolerant", type: "bool" },
  ],
} as const;

export const jobResultTypes = {
  JobResult: [
    { name: "jobId", type: "bytes32" },
    { name: "resultHash", type: "bytes32" },
    { name: "amount", type: "uint256" },
  ],
} as const;

export const jobAcceptanceTypes = {
  JobAcceptance: [
    { name: "jobId", type: "bytes32" },
    { name: "maxAmount", type: "uint256" },
  ],
} as const;

export const mediationTypes = {
  Mediation: [
    { name: "jobId", type: "bytes32" },
    { name: "resultHash", type: "bytes32" },
  ],
} as const;

/**
 * A mediator's judgement of a tolerant job (protocol/verification.ts): whether the
 * provider's outputs (`resultHash`, as it signed them) agree with its own re-run's
 * (`rerunHash`) under the spec's declared comparison.
 */
export const verdictTypes = {
  Verdict: [
    { name: "jobId", type: "bytes32" },
    { name: "resultHash", type: "bytes32" },
    { name: "rerunHash", type: "bytes32" },
    { name: "upheld", type: "bool" },
  ],
} as const;

/** The on-chain id of a job created without a creator-chosen key. */
export function chainJobIdOf(apiJobId: string): Hex {
  return keccak256(stringToHex(apiJobId));
}

/** JSON with sorted keys and no spaces: the same bytes on every side. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** What a creator's JobAuthorization commits to: the job spec, canonically encoded. */
export function specHashOf(spec: unknown): Hex {
  return keccak256(stringToHex(canonicalJson(spec)));
}

/** The JobAuthorization message for `spec`: one builder, so whoever signs it and whoever checks it cannot disagree. */
export function jobAuthorizationMessage(spec: JobSpec, jobId: Hex, deadline: number) {
  return { jobId, specHash: specHashOf(spec), maxPrice: BigInt(spec.max_price_wei), deadline: BigInt(deadline), tolerant: isTolerant(spec) };
}
