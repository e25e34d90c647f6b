import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { manifestOf, OutputsError } from "../../../provider/executor/outputs.ts";
import { removeFolder } from "../../../provider/folderRemoval.ts";
import { computeResultHash } from "../../../protocol/manifest.ts";
import { useTempDir } from "../../helpers/tempDir.ts";

const tempDir = useTempDir("outputs");
const limits = { maxFiles: 100, maxTotalBytes: 1_000_000 };

describe("manifestOf", () => {
  it("hashes every file, sorted by path, and commits to them in result_hash", async () => {
    await mkdir(join(tempDir(), "b"));
    await writeFile(join(tempDir(), "b", "model.bin"), Buffer.alloc(1000, 1));
    await writeFile(join(tempDir(), "a.txt"), "hello\n");
    const manifest = await manifestOf(tempDir(), limits);
    expect(manifest.files).toEqual([
      { path: "a.txt", size: 6, sha256: createHash("sha256").update("hello\n").digest("hex") },
      { path: "b/model.bin", size: 1000, sha256: createHash("sha256").update(Buffer.alloc(1000, 1)).digest("hex") },
    ]);
    expect(manifest.result_hash).toBe(await computeResultHash(manifest.files));
  });

  it("changes result_hash when any byte changes", async () => {
    await writeFile(join(tempDir(), "a.txt"), "hello\n");
    const before = await manifestOf(tempDir(), limits);
    await writeFile(join(tempDir(), "a.txt"), "hellp\n");
    expect((await manifestOf(tempDir(), limits)).result_hash).not.toBe(before.result_hash);
  });

  it("refuses links, too many files and too many bytes", async () => {
    await symlink("/etc/passwd", join(tempDir(), "sneaky"));
    await expect(manifestOf(tempDir(), limits)).rejects.toThrow(/not a regular file/);
    await rm(join(tempDir(), "sneaky"));
    for (let i = 0; i < 3; i++) await writeFile(join(tempDir(), `f${i}`), "x");
    await expect(manifestOf(tempDir(), { maxFiles: 2, maxTotalBytes: 100 })).rejects.toThrow(/more than 2 files/);
    await expect(manifestOf(tempDir(), { maxFiles: 10, maxTotalBytes: 2 })).rejects.toThrow(/more than 2 bytes/);
  });

  it("refuses file names the API could not serve", async () => {
    await writeFile(join(tempDir(), "bad name!.txt"), "x");
    await expect(manifestOf(tempDir(), limits)).rejects.toThrow(/name outputs may not have/);
  });

  it("quotes a refused name, so a newline in it cannot break the error onto a new line", async () => {
    await writeFile(join(tempDir(), "evil\nname"), "x");
    const refused = manifestOf(tempDir(), limits);
    await expect(refused).rejects.toThrow('"/outputs/evil\\nname" has a name outputs may not have');
    await expect(refused).rejects.toThrow(/^[^\n]*$/);
  });

  it("refuses outputs nested deeper than the provider's paths reach, saying so and naming none of its folders", async () => {
    // Past PATH_MAX on the provider's disk (the job made it with relative paths from inside): unreadable by path.
    await nest(tempDir(), 25, "d".repeat(200));
    try {
      const refused = manifestOf(tempDir(), limits);
      await expect(refused).rejects.toThrow(OutputsError);
      await expect(refused).rejects.toThrow(/^the job's outputs nest too deeply: "\/outputs\/dddd[^"]*" is longer than the 255 characters an output's path may have$/);
    } finally {
      await removeFolder(tempDir());
    }
  });

  it("hashes files a few at a time, each with its own size and sha256", async () => {
    for (let i = 0; i < 500; i++) await writeFile(join(tempDir(), `f${i}`), "x".repeat(i));
    const manifest = await manifestOf(tempDir(), { maxFiles: 500, maxTotalBytes: 1_000_000 });
    expect(manifest.files).toHaveLength(500);
    for (const file of manifest.files) {
      const i = Number(file.path.slice(1));
      expect(file).toEqual({ path: `f${i}`, size: i, sha256: createHash("sha256").update("x".repeat(i)).digest("hex") });
    }
  });

  it("quotes the name of a link it refuses", async () => {
    await symlink("/etc/passwd", join(tempDir(), "link\nname"));
    await expect(manifestOf(tempDir(), limits)).rejects.toThrow('"/outputs/link\\nname" is not a regular file');
  });
});

/** `depth` folders named `name`, one in the other, and a file at the bottom, made the way a job would: by relative paths. */
async function nest(root: string, depth: number, name: string): Promise<void> {
  await promisify(execFile)("sh", ["-c", `cd "$1" && i=0; while [ $i -lt ${depth} ]; do mkdir ${name} && cd ${name}; i=$((i+1)); done; echo x > bottom.txt`, "sh", root]);
}
