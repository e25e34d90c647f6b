import { z } from "zod";

const MAX_UINT256 = (1n << 256n) - 1n;
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** An amount of wei as a decimal string: JSON numbers cannot hold uint256. */
export const weiString = z
  .string()
  .regex(DECIMAL, "must be a decimal integer string of wei, e.g. \"1000000000000000\"")
  // zod runs every check: only parse what the regex already accepted.
  .refine((value) => !DECIMAL.test(value) || (value.length <= 78 && BigInt(value) <= MAX_UINT256), "must fit in uint256")
  .meta({ description: "Amount in wei, as a decimal string", example: "1000000000000000" });

/** An Ethereum address, normalised to lower case. */
export const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte hex address")
  .transform((value) => value.toLowerCase() as `0x${string}`);

export const bytes32 = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, "must be a 0x-prefixed 32-byte lower-case hex string")
  .transform((value) => value as `0x${string}`);
