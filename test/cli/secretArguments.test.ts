import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { secretValuesOf } from "../../cli/secretArguments.ts";

describe("pond run --secret", () => {
  it("takes NAME from the environment and NAME=VALUE as given", () => {
    expect(secretValuesOf(["HF_TOKEN", "OTHER=a=b"], { HF_TOKEN: "hf_1" })).toEqual({ HF_TOKEN: "hf_1", OTHER: "a=b" });
    expect(secretValuesOf(undefined)).toBeUndefined();
  });

  it("says what to fix, never echoing a value: unset, empty, repeated, or not a variable name", () => {
    const refusal = (args: string[], environment: NodeJS.ProcessEnv = {}) => {
      try {
        secretValuesOf(args, environment);
      } catch (error) {
        expect(error).toBeInstanceOf(UsageError);
        return (error as Error).message;
      }
      throw new Error("not refused");
    };
    expect(refusal(["HF_TOKEN"])).toContain("HF_TOKEN is not set in your environment");
    expect(refusal(["HF_TOKEN="])).toContain("has no value");
    expect(refusal(["A=topsecret1", "A=topsecret2"])).toMatch(/given twice/);
    expect(refusal(["A=topsecret1", "A=topsecret2"])).not.toContain("topsecret");
    expect(refusal(["9BAD=x"])).toContain("NAME a variable name");
  });
});
