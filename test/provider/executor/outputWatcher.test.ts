import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
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

  it("refuses folders nested deeper than an output's path may be, without naming the provider's folder", async () => {
    await mkdir(join(tempDir(), ...Array.from({ length: 30 }, () => "nine_char")), { recursive: true });
    const usage = await folderUsage(tempDir(), { maxFiles: 100, maxTotalBytes: 1024 });
    const reason = describeExcess(usage, { maxFiles: 100, maxTotalBytes: 1024 });
    expect(reason).toMatch(/^the job's outputs nest too deeply: "\/outputs\/nine_char\/nine_char.*" is longer than the 255 characters an output's path may have$/);
    expect(reason).not.toContain(tempDir());
  });
});

describe("describeExcess", () => {
  const limits = { maxFiles: 100, maxTotalBytes: 1024 };

  it("judges a volume's counters, files and folders together, against the inode budget of twice the files", () => {
    expect(describeExcess({ bytes: 0, entries: 200 }, limits)).toBeUndefined();
    expect(describeExcess({ bytes: 0, entries: 201 }, limits)).toBe("the job made more than 200 files and folders in /outputs (at most 100 files are kept)");
    expect(describeExcess({ bytes: 1025, entries: 1 }, limits)).toBe("the job wrote more than 1024 bytes to /outputs");
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

  it("holds no inotify watch, however many files the folder has", async () => {
    // Node's recursive fs.watch on Linux takes one watch per file and rescans on every change: its cost grows with their square.
    for (let i = 0; i < 2_000; i++) await writeFile(join(tempDir(), `f${i}`), "");
    const before = await inotifyWatches();
    let looks = 0;
    let looked!: () => void;
    const twice = new Promise<void>((resolve) => (looked = resolve));
    const watch = watchOutputs(tempDir(), { maxFiles: 10_000, maxTotalBytes: 1024 }, () => undefined, {
      intervalMs: 10,
      measure: async () => {
        const usage = await folderUsage(tempDir());
        if (++looks === 2) looked();
        return usage;
      },
    });
    try {
      await twice;
      for (let i = 0; i < 200; i++) await writeFile(join(tempDir(), `g${i}`), "");
      expect((await inotifyWatches()) - before).toBe(0);
    } finally {
      watch.stop();
    }
  });

  it("spaces its looks out when a look is slow, so they take at most half the time", async () => {
    vi.useFakeTimers();
    try {
      const starts: number[] = [];
      const watch = watchOutputs(tempDir(), { maxFiles: 10, maxTotalBytes: 1024 }, () => undefined, {
        intervalMs: 100,
        measure: async () => {
          starts.push(Date.now());
          // A look that takes a second: a walk of a big folder on a busy disk.
          vi.setSystemTime(Date.now() + 1_000);
          return { bytes: 0, files: 0, folders: 0 };
        },
      });
      await vi.advanceTimersByTimeAsync(20_000);
      watch.stop();
      expect(starts.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(1_000 + 2_000);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** Inotify watches this process holds, from the kernel's own account of its file descriptors. */
async function inotifyWatches(): Promise<number> {
  let count = 0;
  for (const fd of await readdir("/proc/self/fdinfo")) {
    const info = await readFile(`/proc/self/fdinfo/${fd}`, "utf8").catch(() => "");
    count += info.split("\n").filter((line) => line.startsWith("inotify wd:")).length;
  }
  return count;
}
