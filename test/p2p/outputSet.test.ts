// A folder on disk as an output set (p2p/node/outputSet.ts): every regular file
// with its size and sha256, links refused rather than followed, and reads
// checked against what was listed.
import { createHash } from "node:crypto";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputFolderError, outputSetOf } from "../../p2p/node/outputSet.ts";
import { compareOutputs } from "../../protocol/outputComparison.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const tempDir = useTempDir("output-set");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function folderWith(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(tempDir(), name);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

describe("outputSetOf a folder", () => {
  it("lists every regular file under it, nested ones by their /-separated path, with size and sha256", async () => {
    const dir = await folderWith("a", { "metrics.json": '{"loss": 0.5}', "preds/deep/er/p.txt": "cat\n", ".hidden": "" });
    const set = await outputSetOf(dir);
    expect([...set.files].sort((x, y) => x.path.localeCompare(y.path))).toEqual([
      { path: ".hidden", size: 0, sha256: sha256("") },
      { path: "metrics.json", size: 13, sha256: sha256('{"loss": 0.5}') },
      { path: "preds/deep/er/p.txt", size: 4, sha256: sha256("cat\n") },
    ]);
    expect(new TextDecoder().decode(await set.read("preds/deep/er/p.txt"))).toBe("cat\n");
    await expect(set.read("other.txt")).rejects.toThrow(OutputFolderError);
  });

  it("refuses a symbolic link in the folder, naming it, even one that points inside", async () => {
    const dir = await folderWith("a", { "real.txt": "x" });
    await symlink(join(dir, "real.txt"), join(dir, "alias.txt"));
    await expect(outputSetOf(dir)).rejects.toThrow(`"alias.txt" in ${dir} is a symbolic link: only regular files are compared, and links are not followed`);
  });

  it("reads the files a manifest lists, refusing bytes other than listed and paths that lead outside through a link", async () => {
    const outside = await folderWith("outside", { "secret.txt": "not an output" });
    const dir = await folderWith("run", { "m.json": "[1]" });
    await symlink(outside, join(dir, "link"));
    const set = await outputSetOf(dir, [
      { path: "m.json", size: 3, sha256: sha256("[1]") },
      { path: "link/secret.txt", size: 13, sha256: sha256("not an output") },
    ]);
    expect(new TextDecoder().decode(await set.read("m.json"))).toBe("[1]");
    await expect(set.read("link/secret.txt")).rejects.toThrow(`"link/secret.txt" in ${dir} leads outside the folder through a link`);

    const lying = await outputSetOf(dir, [{ path: "m.json", size: 3, sha256: sha256("[2]") }]);
    await expect(lying.read("m.json")).rejects.toThrow(`has sha256 ${sha256("[1]")}, not the ${sha256("[2]")} listed`);
    const shorter = await outputSetOf(dir, [{ path: "m.json", size: 2, sha256: sha256("[1") }]);
    await expect(shorter.read("m.json")).rejects.toThrow("is not the 2 bytes listed");
  });

  it("feeds the comparison: two folders judged under a tolerant rule", async () => {
    const a = await folderWith("a", { "metrics.json": '{"loss": [0.5, 0.25]}', "model.pt": "w" });
    const b = await folderWith("b", { "metrics.json": '{"loss": [0.5, 0.2501]}', "model.pt": "w" });
    const verify = { mode: "tolerant" as const, files: [{ path: "metrics.json", format: "json" as const, rtol: 1e-3 }] };
    expect((await compareOutputs(verify, await outputSetOf(a), await outputSetOf(b))).agree).toBe(true);
    expect((await compareOutputs(undefined, await outputSetOf(a), await outputSetOf(b))).agree).toBe(false);
  });
});
