import { describe, expect, it } from "vitest";
import { SECRET_MASK, secretMask } from "../../provider/executor/secretMask.ts";

describe("secretMask", () => {
  it("masks every occurrence of every value, a longer value whole before one inside it", () => {
    const mask = secretMask(["abc", "xxabcxx", "zz"]);
    expect(mask("1 xxabcxx 2 abc 3 zzz abcabc")).toBe(`1 ${SECRET_MASK} 2 ${SECRET_MASK} 3 ${SECRET_MASK}z ${SECRET_MASK}${SECRET_MASK}`);
  });

  it("leaves text alone when there are no values, and ignores empty ones", () => {
    expect(secretMask([])("as it was")).toBe("as it was");
    expect(secretMask([""])("as it was")).toBe("as it was");
  });

  it("takes values with characters that mean something in a regular expression literally", () => {
    expect(secretMask(["a.b*c(d)$"])("x a.b*c(d)$ y aXbbc")).toBe(`x ${SECRET_MASK} y aXbbc`);
  });
});
