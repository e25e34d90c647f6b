// Signatures as a careless or hostile signer would send them.
import type { Hex } from "viem";

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The malleable twin of a signature: `s' = n − s` with `v` flipped. It recovers the same signer. */
export function malleableTwin(signature: Hex): Hex {
  const r = signature.slice(2, 66);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130), 16);
  const flipped = v === 27 || v === 0 ? v + 1 : v - 1;
  return `0x${r}${(CURVE_ORDER - s).toString(16).padStart(64, "0")}${flipped.toString(16).padStart(2, "0")}`;
}
