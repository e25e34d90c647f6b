import { recoverMessageAddress, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { canonicalSignature } from "../../protocol/signature.ts";
import { malleableTwin } from "../helpers/signatures.ts";

const account = privateKeyToAccount(generatePrivateKey());
const message = "pond signature test";

describe("canonicalSignature", () => {
  it("keeps a signature viem makes (low s, v 27 or 28) as it is", async () => {
    const signature = await account.signMessage({ message });
    expect(canonicalSignature(signature)).toEqual({ ok: true, signature: signature.toLowerCase(), normalised: false });
  });

  it("turns the high-s twin back into the canonical signature, which recovers the same signer", async () => {
    const signature = await account.signMessage({ message });
    const twin = malleableTwin(signature);
    expect(twin).not.toBe(signature);
    // Both verify off chain: which is why the API must not keep the twin as it came.
    expect(await recoverMessageAddress({ message, signature: twin })).toBe(account.address);
    const canonical = canonicalSignature(twin);
    expect(canonical).toEqual({ ok: true, signature: signature.toLowerCase(), normalised: true });
  });

  it("writes a v of 0 or 1 as 27 or 28", async () => {
    const signature = await account.signMessage({ message });
    const v = Number.parseInt(signature.slice(130), 16);
    const yParity = `${signature.slice(0, 130)}0${v - 27}` as Hex;
    expect(canonicalSignature(yParity)).toEqual({ ok: true, signature: signature.toLowerCase(), normalised: true });
  });

  it.each([
    ["a 64-byte compact signature", `0x${"11".repeat(64)}`, /65-byte/],
    ["not hex", `0x${"zz".repeat(65)}`, /65-byte/],
    ["a zero r", `0x${"00".repeat(32)}${"11".repeat(32)}1b`, /r is not a valid/],
    ["an s at the curve order", `0x${"11".repeat(32)}fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd03641411b`, /s is not a valid/],
    ["a v of 29", `0x${"11".repeat(64)}1d`, /v is 29/],
  ])("refuses %s, saying why", (_name, signature, reason) => {
    const checked = canonicalSignature(signature);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toMatch(reason);
  });
});
