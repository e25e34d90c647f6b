// Every signature that enters the Worker is checked here: first put in canonical
// form (protocol/signature.ts), then verified in that form, so what is stored and
// relayed is exactly what was verified and what the contract will take.
import { verifyMessage, verifyTypedData, type Address, type Hex, type TypedData, type VerifyTypedDataParameters } from "viem";
import { canonicalSignature } from "../../protocol/signature.ts";

export type SignatureCheck =
  | { ok: true; signature: Hex }
  /** `malformed`: no signer could have made it; `wrong-signer`: well formed, but not by that address over that content. */
  | { ok: false; problem: "malformed" | "wrong-signer"; reason: string };

const doesNotVerify: SignatureCheck = { ok: false, problem: "wrong-signer", reason: "does not verify" };

/** An EIP-712 signature by `address`: the canonical signature when it verifies, else why not. */
export async function checkTypedSignature<const typedData extends TypedData | Record<string, unknown>, primaryType extends keyof typedData | "EIP712Domain">(
  parameters: Omit<VerifyTypedDataParameters<typedData, primaryType>, "signature"> & { signature: string },
): Promise<SignatureCheck> {
  const canonical = canonicalSignature(parameters.signature);
  if (!canonical.ok) return { ok: false, problem: "malformed", reason: canonical.reason };
  const verified = await verifyTypedData({ ...parameters, signature: canonical.signature } as VerifyTypedDataParameters<typedData, primaryType>).catch(() => false);
  return verified ? { ok: true, signature: canonical.signature } : doesNotVerify;
}

/** An EIP-191 signature of `message` by `address`: the canonical signature when it verifies, else why not. */
export async function checkMessageSignature(address: Address, message: string, signature: string): Promise<SignatureCheck> {
  const canonical = canonicalSignature(signature);
  if (!canonical.ok) return { ok: false, problem: "malformed", reason: canonical.reason };
  const verified = await verifyMessage({ address, message, signature: canonical.signature }).catch(() => false);
  return verified ? { ok: true, signature: canonical.signature } : doesNotVerify;
}
