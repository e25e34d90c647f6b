// Sign-In with Ethereum (EIP-4361) for the API's fields: the message the server
// issued the nonce for, signed by the wallet (any viem account, or a browser's).
import type { LocalAccount } from "viem";
import { createSiweMessage } from "viem/siwe";
import type { SiweNonce } from "../protocol/account.ts";

export type MessageSigner = Pick<LocalAccount, "address" | "signMessage">;

export async function signSiwe(account: MessageSigner, fields: SiweNonce, overrides: Partial<Parameters<typeof createSiweMessage>[0]> = {}) {
  const message = createSiweMessage({
    address: account.address,
    chainId: fields.chain_id,
    domain: fields.domain,
    nonce: fields.nonce,
    uri: fields.uri,
    version: "1",
    statement: fields.statement,
    ...overrides,
  });
  return { message, signature: await account.signMessage({ message }) };
}
