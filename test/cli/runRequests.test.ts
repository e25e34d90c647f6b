import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { integer } from "../../cli/context.ts";
import { imageRequest, type RunOptions } from "../../cli/runRequests.ts";

const options = (over: Partial<RunOptions> = {}): RunOptions => ({ image: "busybox", gpus: 0, cpus: 1, memory: 128, timeout: 60, wait: true, ...over });

describe("imageRequest's checkpoints", () => {
  it("asks for them with the interval given", () => {
    expect(imageRequest(["python", "train.py"], options({ checkpointEvery: 60 })).checkpoint).toEqual({ interval_s: 60 });
    expect(imageRequest(["true"], options()).checkpoint).toBeUndefined();
  });

  it("says what --checkpoint-every takes when it is out of bounds", () => {
    for (const every of [5, 3601]) {
      expect(() => imageRequest(["true"], options({ checkpointEvery: every }))).toThrow(UsageError);
      expect(() => imageRequest(["true"], options({ checkpointEvery: every }))).toThrow(`--checkpoint-every is how many seconds between two saves of the job's checkpoint: from 10 to 3600, not ${every}`);
    }
  });
});

describe("a whole-number flag", () => {
  it("takes decimal digits only, not what Number would also take", () => {
    expect(integer("12")).toBe(12);
    expect(integer(" -3 ")).toBe(-3);
    for (const bad of ["", " ", "0x1F", "1e20", "1.5", "12abc", "99999999999999999999"]) expect(() => integer(bad)).toThrow(/is not a whole number/);
    expect(() => integer("\u001b[2J")).toThrow(/"\\u001b\[2J" is not a whole number/);
  });
});
