// The shapes of sign-in, keys, the chain and the creator's escrow, as the API
// sends them and the SDK reads them.
import { z } from "zod";

export const SiweNonce = z
  .object({
    nonce: z.string(),
    domain: z.string(),
    uri: z.string(),
    chain_id: z.int(),
    statement: z.string(),
    issued_at: z.string(),
    expires_at: z.string(),
  })
  .meta({ id: "SiweNonce" });
export type SiweNonce = z.infer<typeof SiweNonce>;

export const CreatedApiKey = z
  .object({ id: z.string(), key: z.string().meta({ description: "Shown once; store it now" }), address: z.string() })
  .meta({ id: "CreatedApiKey" });

export const ChainInfo = z
  .object({
    settles_on_chain: z.boolean(),
    chain: z.string(),
    chain_id: z.int(),
    market_address: z.string().nullable(),
    relayer_address: z.string().nullable(),
    eip712_domain: z.object({ name: z.string(), version: z.string(), chainId: z.int(), verifyingContract: z.string() }),
  })
  .meta({ id: "ChainInfo" });
export type ChainInfo = z.infer<typeof ChainInfo>;

export const AccountInfo = z
  .object({
    address: z.string(),
    escrow: z.object({ balance_wei: z.string(), reserved_wei: z.string(), reserving_wei: z.string(), available_wei: z.string() }),
  })
  .meta({ id: "Account" });
export type AccountInfo = z.infer<typeof AccountInfo>;
