// Which outputs ride with a result, and the bounds the hub holds a result's inline bytes to.
import { describe, expect, it } from "vitest";
import { INLINE_OUTPUTS_MAX_BYTES, INLINE_OUTPUTS_MAX_FILES, inlineShare, InlineOutputs } from "../../protocol/inlineOutputs.ts";

const b64 = (bytes: number) => Buffer.alloc(bytes, 7).toString("base64");

describe("inlineShare", () => {
  it("takes the smallest files first, while their total fits, and no more files than the bound", () => {
    const files = [{ path: "big", size: INLINE_OUTPUTS_MAX_BYTES }, { path: "b", size: 41_000 }, { path: "a", size: 20_000 }, { path: "c", size: 5_000 }];
    // 5,000 + 20,000 fit; with 41,000 more they would pass 65,536.
    expect(inlineShare(files).map((f) => f.path)).toEqual(["c", "a"]);
    expect(inlineShare([{ path: "exact", size: INLINE_OUTPUTS_MAX_BYTES }]).map((f) => f.path)).toEqual(["exact"]);
    const many = Array.from({ length: INLINE_OUTPUTS_MAX_FILES + 5 }, (_, i) => ({ path: `f${i}`, size: 1 }));
    expect(inlineShare(many)).toHaveLength(INLINE_OUTPUTS_MAX_FILES);
    expect(inlineShare([])).toEqual([]);
  });
});

describe("InlineOutputs", () => {
  it("takes up to the bound in bytes, decoded", () => {
    expect(InlineOutputs.safeParse([{ path: "a", data_base64: b64(INLINE_OUTPUTS_MAX_BYTES - 1) }, { path: "b", data_base64: b64(1) }]).success).toBe(true);
  });

  it.each([
    ["more bytes than the bound", [{ path: "a", data_base64: b64(INLINE_OUTPUTS_MAX_BYTES) }, { path: "b", data_base64: b64(1) }], /at most 65536 bytes/],
    ["a path twice", [{ path: "a", data_base64: b64(1) }, { path: "a", data_base64: b64(1) }], /must not repeat a path/],
    ["a path out of /outputs", [{ path: "../etc/passwd", data_base64: b64(1) }], /./],
    ["text that is not base64", [{ path: "a", data_base64: "not base64!" }], /must be base64/],
    ["too many files", Array.from({ length: INLINE_OUTPUTS_MAX_FILES + 1 }, (_, i) => ({ path: `f${i}`, data_base64: "" })), /./],
  ])("refuses %s", (_case, outputs, why) => {
    const parsed = InlineOutputs.safeParse(outputs);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.message).join("; ")).toMatch(why);
  });
});
