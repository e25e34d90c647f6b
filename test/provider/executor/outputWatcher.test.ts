import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeExcess, folderUsage, watchOutputs } from "../../../provider/executor/outputWatcher.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-watch-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("folderUsage", () => {
  it("adds up files at every depth, and counts files and folders", async () => {
    await mkdir(join(dir, "a", "b"), { recursive: true });
    await writeFile(join(dir, "top.bin"), Buffer.alloc(1000));
    await writeFile(join(dir, "a", "mid.bin"), Buffer.alloc(200));
    await writeFile(join(dir, "a", "b", "deep.bin"), Buffer.alloc(30));
    expect(await folderUsage(dir)).toEqual({ bytes: 1230, files: 3, folders: 2 });
  });

  it("does not follow links", async () => {
    await mkdir(join(dir, "real"));
    await writeFile(join(dir, "real", "big.bin"), Buffer.alloc(5000));
    await symlink(join(dir, "real"), join(dir, "link"));
    const usage = await folderUsage(dir);
    expect(usage.files).toBe(2);
    expect(usage.bytes).toBeLessThan(6000);
  });

  it("stops counting once past the limits", async () => {
    for (let i = 0; i < 50; i++) await writeFile(join(dir, `f${i}`), Buffer.alloc(10));
    const usage = await folderUsage(dir, { maxFiles: 5, maxTotalBytes: 1_000_000 });
    expect(usage.files).toBe(6);
    expect(describeExcess(usage, { maxFiles: 5, maxTotalBytes: 1_000_000 })).toBe("the job wrote more than 5 files to /outputs");
  });

  it("reads a folder that is not there as empty", async () => {
    expect(await folderUsage(join(dir, "missing"))).toEqual({ bytes: 0, files: 0, folders: 0 });
  });
});

describe("watchOutputs", () => {
  it("reports once, with the reason, when the folder grows past the byte limit", async () => {
    const reasons: string[] = [];
    let reported!: () => void;
    const exceeded = new Promise<void>((resolve) => (reported = resolve));
    const watch = watchOutputs(dir, { maxFiles: 100, maxTotalBytes: 1024 }, (reason) => {
      reasons.push(reason);
      reported();
    }, { intervalMs: 20 });
    try {
      await writeFile(join(dir, "small"), Buffer.alloc(100));
      await writeFile(join(dir, "big"), Buffer.alloc(2048));
      await exceeded;
      expect(reasons).toEqual(["the job wrote more than 1024 bytes to /outputs"]);
    } finally {
      watch.stop();
    }
  });
});
