import { describe, expect, it } from "vitest";
import { KeyFileError, parsePrivateKey } from "../../keys/keyFile.ts";

const n = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

describe("parsePrivateKey", () => {
  it("accepts a key in secp256k1's range, trimmed", () => {
    expect(parsePrivateKey(`0x${"0".repeat(63)}1\n`, "k")).toBe(`0x${"0".repeat(63)}1`);
    expect(parsePrivateKey(`0x${n.slice(0, -1)}0`, "k")).toBe(`0x${n.slice(0, -1)}0`);
  });

  it("refuses zero, n and above with a clear KeyFileError", () => {
    for (const key of [`0x${"0".repeat(64)}`, `0x${n}`, `0x${"f".repeat(64)}`]) {
      expect(() => parsePrivateKey(key, "/keys/provider.key"), key).toThrow(KeyFileError);
      expect(() => parsePrivateKey(key, "/keys/provider.key")).toThrow(/\/keys\/provider.key holds 32 bytes that are not a valid secp256k1 private key/);
    }
  });

  it("refuses text that is not 32 bytes of hex", () => {
    expect(() => parsePrivateKey("hello", "POND_PRIVATE_KEY")).toThrow(/POND_PRIVATE_KEY does not hold a 0x-prefixed 32-byte private key/);
  });
});
