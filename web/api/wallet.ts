// Sign-In with Ethereum through the wallet the browser injects (EIP-1193):
// the API issues a nonce and the message's fields, the wallet signs the
// EIP-4361 message with personal_sign, and the API answers with an API key.
import { getAddress, stringToHex } from "viem";
import { createSiweMessage } from "viem/siwe";
import { z } from "zod";
import { CreatedApiKey, SiweNonce } from "../../protocol/account.ts";
import { requestJson } from "./http.ts";

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

export function injectedWallet(): Eip1193Provider | undefined {
  const candidate = (window as { ethereum?: Partial<Eip1193Provider> }).ethereum;
  return typeof candidate?.request === "function" ? (candidate as Eip1193Provider) : undefined;
}

const Accounts = z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/)).min(1, "the wallet shared no account");
const Signature = z.string().regex(/^0x[0-9a-fA-F]+$/, "the wallet's signature is not hex");

/** Returns a new API key for the wallet's first account. */
export async function signInWithWallet(wallet: Eip1193Provider): Promise<string> {
  const [account] = Accounts.parse(await wallet.request({ method: "eth_requestAccounts" }));
  const address = getAddress(account!);
  const fields = await requestJson(SiweNonce, "/v1/auth/nonce", { method: "POST" });
  const message = createSiweMessage({
    address,
    chainId: fields.chain_id,
    domain: fields.domain,
    nonce: fields.nonce,
    uri: fields.uri,
    version: "1",
    statement: fields.statement,
    issuedAt: new Date(fields.issued_at),
    expirationTime: new Date(fields.expires_at),
  });
  const signature = Signature.parse(await wallet.request({ method: "personal_sign", params: [stringToHex(message), address] }));
  const created = await requestJson(CreatedApiKey, "/v1/auth/keys", { method: "POST", body: { message, signature } });
  return created.key;
}
