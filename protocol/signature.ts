// The one form of an ECDSA signature Pond keeps and relays. Creators', providers'
// and mediators' signatures end up on chain, where OpenZeppelin's ECDSA takes only
// the canonical form (EIP-2: `s` in the lower half of the curve order, `v` 27 or
// 28) and the batch calls take EIP-2098's compact encoding, which cannot even
// express a high `s`. A signature that verifies off chain but not on chain would
// poison every batch it joins, so each one is put in canonical form where it
// enters, or refused there, saying why.
import type { Hex } from "viem";

/** The order of secp256k1's group. */
const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_ORDER = CURVE_ORDER >> 1n;

export type CanonicalSignature = { ok: true; signature: Hex; normalised: boolean } | { ok: false; reason: string };

/**
 * `signature` (65 bytes: r, s, v) in canonical form. The standard's own normalisations
 * are applied, since both recover the same signer: a high `s` becomes `n − s` with
 * `v` flipped (what some hardware and cloud signers leave undone), and a `v` of 0 or
 * 1 becomes 27 or 28. Anything else (another length, `r` or `s` out of range, another
 * `v`) is refused.
 */
export function canonicalSignature(signature: string): CanonicalSignature {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) {
    return { ok: false, reason: "must be a 65-byte signature (r, s, v) as 0x-prefixed hex; compact (64-byte) and contract-wallet signatures are not accepted" };
  }
  const r = BigInt(`0x${signature.slice(2, 66)}`);
  let s = BigInt(`0x${signature.slice(66, 130)}`);
  let v = Number.parseInt(signature.slice(130), 16);
  if (r === 0n || r >= CURVE_ORDER) return { ok: false, reason: "its r is not a valid secp256k1 value (zero, or not below the curve order)" };
  if (s === 0n || s >= CURVE_ORDER) return { ok: false, reason: "its s is not a valid secp256k1 value (zero, or not below the curve order)" };
  if (v === 0 || v === 1) v += 27;
  if (v !== 27 && v !== 28) return { ok: false, reason: `its v is ${v}; it must be 27 or 28 (or 0 or 1)` };
  if (s > HALF_ORDER) {
    s = CURVE_ORDER - s;
    v = v === 27 ? 28 : 27;
  }
  const canonical = `0x${hex32(r)}${hex32(s)}${v.toString(16)}` as Hex;
  return { ok: true, signature: canonical, normalised: canonical !== signature.toLowerCase() };
}

const hex32 = (value: bigint) => value.toString(16).padStart(64, "0");
