import { describe, expect, it } from "vitest";
import { maskSecrets, SECRET_MASK, SecretMask } from "../../provider/executor/secretMask.ts";

const M = SECRET_MASK;

describe("maskSecrets", () => {
  it("masks every occurrence of every value, and values that overlap or nest as one stretch", () => {
    expect(maskSecrets("1 abcd 2 xxabcdxx 3 abcdabcd", ["abcd", "xxabcdxx"])).toBe(`1 ${M} 2 ${M} 3 ${M}`);
    expect(maskSecrets("creds: AKIAxxxxSHARED123yyyyzzzz\n", ["AKIAxxxxSHARED123", "SHARED123yyyyzzzz"])).toBe(`creds: ${M}\n`);
  });

  it("takes characters that mean something in a regular expression literally", () => {
    expect(maskSecrets("x a.b*c(d)$ y aXbbc", ["a.b*c(d)$"])).toBe(`x ${M} y aXbbc`);
  });

  it("leaves text alone without values, and does not mask values too short to tell from words", () => {
    expect(maskSecrets("as it was", [])).toBe("as it was");
    expect(maskSecrets("loading data and parameters", ["a", "", "and"])).toBe("loading data and parameters");
  });
});

describe("SecretMask, piece by piece", () => {
  const SECRET = "hf_s3cr3tValueThatMustNotLeak";

  it("masks a value Docker split across two pieces of one long line, holding the first piece's end until the second", () => {
    const mask = new SecretMask([SECRET]);
    const first = mask.push(`${"x".repeat(100)}${SECRET.slice(0, 10)}`);
    expect(mask.holding).toBe(true);
    const second = mask.push(`${SECRET.slice(10)} loaded\n`);
    expect(mask.holding).toBe(false);
    expect(first + second).toBe(`${"x".repeat(100)}${M} loaded\n`);
  });

  it("lets a whole line through at once, and a piece's held end out at the flush", () => {
    const mask = new SecretMask([SECRET]);
    expect(mask.push(`token=${SECRET}\n`)).toBe(`token=${M}\n`);
    const partial = mask.push("progress 45%");
    expect(partial + mask.flush()).toBe("progress 45%");
    expect(mask.holding).toBe(false);
  });

  it("sends an occurrence that crosses the hold-back whole and masked, not held", () => {
    const mask = new SecretMask([SECRET, "abcd"]);
    // The longest value's length less one is held back: here the last 28 characters, which "abcd" straddles.
    expect(mask.push(`${"x".repeat(30)}abcd${"z".repeat(26)}`)).toBe(`${"x".repeat(30)}${M}`);
    expect(mask.flush()).toBe("z".repeat(26));
  });

  it("passes pieces through untouched without values", () => {
    const mask = new SecretMask([]);
    expect(mask.push("no newline")).toBe("no newline");
    expect(mask.holding).toBe(false);
  });
});
