import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { manifestOf } from "../../../provider/executor/outputs.ts";
import { computeResultHash } from "../../../protocol/manifest.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pond-outputs-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});
const limits = { maxFiles: 100, maxTotalBytes: 1_000_000 };

describe("manifestOf", () => {
  it("hashes every file, sorted by path, and commits to them in result_hash", async () => {
    await mkdir(join(dir, "b"));
    await writeFile(join(dir, "b", "model.bin"), Buffer.alloc(1000, 1));
    await writeFile(join(dir, "a.txt"), "hello\n");
    const manifest = await manifestOf(dir, limits);
    expect(manifest.files).toEqual([
      { path: "a.txt", size: 6, sha256: createHash("sha256").update("hello\n").digest("hex") },
      { path: "b/model.bin", size: 1000, sha256: createHash("sha256").update(Buffer.alloc(1000, 1)).digest("hex") },
    ]);
    expect(manifest.result_hash).toBe(await computeResultHash(manifest.files));
  });

  it("changes result_hash when any byte changes", async () => {
    await writeFile(join(dir, "a.txt"), "hello\n");
    const before = await manifestOf(dir, limits);
    await writeFile(join(dir, "a.txt"), "hellp\n");
    expect((await manifestOf(dir, limits)).result_hash).not.toBe(before.result_hash);
  });

  it("refuses links, too many files and too many bytes", async () => {
    await symlink("/etc/passwd", join(dir, "sneaky"));
    await expect(manifestOf(dir, limits)).rejects.toThrow(/not a regular file/);
    await rm(join(dir, "sneaky"));
    for (let i = 0; i < 3; i++) await writeFile(join(dir, `f${i}`), "x");
    await expect(manifestOf(dir, { maxFiles: 2, maxTotalBytes: 100 })).rejects.toThrow(/more than 2 files/);
    await expect(manifestOf(dir, { maxFiles: 10, maxTotalBytes: 2 })).rejects.toThrow(/more than 2 bytes/);
  });

  it("refuses file names the API could not serve", async () => {
    await writeFile(join(dir, "bad name!.txt"), "x");
    await expect(manifestOf(dir, limits)).rejects.toThrow(/name outputs may not have/);
  });
});
