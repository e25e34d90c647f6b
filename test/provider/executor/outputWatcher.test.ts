import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeExcess, folderUsage, watchOutputs } from "../../../provider/executor/outputWatcher.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const tempDir = useTempDir("watch");

describe("folderUsage", () => {
  it("adds up files at every depth, and counts files and folders", async () => {
    await mkdir(join(tempDir(), "a", "b"), { recursive: true });
    await writeFile(join(tempDir(), "top.bin"), Buffer.alloc(1000));
    await writeFile(join(tempDir(), "a", "mid.bin"), Buffer.alloc(200));
    await writeFile(join(tempDir(), "a", "b", "deep.bin"), Buffer.alloc(30));
    expect(await folderUsage(tempDir())).toEqual({ bytes: 1230, files: 3, folders: 2 });
  });

  it("does not follow links", async () => {
    await mkdir(join(tempDir(), "real"));
    await writeFile(join(tempDir(), "real", "big.bin"), Buffer.alloc(5000));
    await symlink(join(tempDir(), "real"), join(tempDir(), "link"));
    const usage = await folderUsage(tempDir());
    expect(usage.files).toBe(2);
    expect(usage.bytes).toBeLessThan(6000);
  });

  it("stops counting once past the limits", async () => {
    for (let i = 0; i < 50; i++) await writeFile(join(tempDir(), `f${i}`), Buffer.alloc(10));
    const usage = await folderUsage(tempDir(), { maxFiles: 5, maxTotalBytes: 1_000_000 });
    expect(usage.files).toBe(6);
    expect(describeExcess(usage, { maxFiles: 5, maxTotalBytes: 1_000_000 })).toBe("the job wrote more than 5 files to /outputs");
  });

  it("reads a folder that is not there as empty", async () => {
    expect(await folderUsage(join(tempDir(), "missing"))).toEqual({ bytes: 0, files: 0, folders: 0 });
  });
});

describe("watchOutputs", () => {
  it("reports once, with the reason, when the folder grows past the byte limit", async () => {
    const reasons: string[] = [];
    let reported!: () => void;
    const exceeded = new Promise<void>((resolve) => (reported = resolve));
    const watch = watchOutputs(tempDir(), { maxFiles: 100, maxTotalBytes: 1024 }, (reason) => {
      reasons.push(reason);
      reported();
    }, { intervalMs: 20 });
    try {
      await writeFile(join(tempDir(), "small"), Buffer.alloc(100));
      await writeFile(join(tempDir(), "big"), Buffer.alloc(2048));
      await exceeded;
      expect(reasons).toEqual(["the job wrote more than 1024 bytes to /outputs"]);
    } finally {
      watch.stop();
    }
  });

  it("looks as soon as the folder changes, not only at the interval", async () => {
    let reported!: (reason: string) => void;
    const exceeded = new Promise<string>((resolve) => (reported = resolve));
    // An interval no test waits for: only the change can trigger the look.
    const watch = watchOutputs(tempDir(), { maxFiles: 100, maxTotalBytes: 1024 }, (reason) => reported(reason), { intervalMs: 3_600_000 });
    try {
      await writeFile(join(tempDir(), "big"), Buffer.alloc(4096));
      expect(await exceeded).toBe("the job wrote more than 1024 bytes to /outputs");
    } finally {
      watch.stop();
    }
  });
});
