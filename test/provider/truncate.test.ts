import { describe, expect, it } from "vitest";
import { truncate } from "../../provider/truncate.ts";

describe("truncate", () => {
  it("leaves text that fits alone", () => {
    expect(truncate("short", 10)).toBe("short");
    expect(truncate("x".repeat(10), 10)).toBe("x".repeat(10));
  });
  it("cuts text to the limit and marks the cut", () => {
    const cut = truncate("y".repeat(3000), 2000);
    expect(cut).toHaveLength(2000);
    expect(cut.endsWith(" […]")).toBe(true);
    expect(truncate("abcdef", 3)).toBe("abc");
  });
});
