import { describe, expect, it } from "vitest";
import { CheckpointFiles } from "../../protocol/checkpoint.ts";

const file = (path: string) => ({ path, size: 1, sha256: "a".repeat(64) });

describe("CheckpointFiles", () => {
  it("takes files in folders, at most 64", () => {
    expect(CheckpointFiles.safeParse([file("model.pt"), file("optim/state")]).success).toBe(true);
    expect(CheckpointFiles.safeParse(Array.from({ length: 65 }, (_, i) => file(`shard-${i}`))).success).toBe(false);
    expect(CheckpointFiles.safeParse([]).success).toBe(false);
  });

  it("refuses a set no provider could put back: a path twice, a file and a path inside it, a path too long to upload under checkpoint/", () => {
    expect(CheckpointFiles.safeParse([file("a"), file("a")]).error?.issues[0]?.message).toBe("must not name a path twice");
    expect(CheckpointFiles.safeParse([file("a"), file("a/b")]).error?.issues[0]?.message).toBe("must not name a file and a path inside it");
    expect(CheckpointFiles.safeParse([file("x".repeat(244))]).success).toBe(true);
    expect(CheckpointFiles.safeParse([file("x".repeat(245))]).error?.issues[0]?.message).toBe("must have paths short enough to be outputs under checkpoint/");
  });
});
