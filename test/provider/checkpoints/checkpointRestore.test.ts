// Putting a fetched checkpoint in a job's /outputs before its start: where the
// files land, that the job's unprivileged user can replace them, and that a
// path out of the folder is refused.
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { placeCheckpoint, restoredCheckpointDir } from "../../../provider/checkpoints/checkpointRestore.ts";

let workDir: string;
beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), "pond-restore-"));
  await mkdir(join(workDir, "outputs"));
});
afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe("placeCheckpoint", () => {
  it("makes an empty, writable checkpoint folder for a job starting fresh", async () => {
    await placeCheckpoint(join(workDir, "outputs"));
    expect((await stat(join(workDir, "outputs", "checkpoint"))).mode & 0o777).toBe(0o777);
  });

  it("puts the fetched files in place, writable by the job, and lets the daemon's copy go", async () => {
    const dir = restoredCheckpointDir(workDir);
    await mkdir(join(dir, "optim"), { recursive: true });
    await writeFile(join(dir, "model.pt"), "weights");
    await writeFile(join(dir, "optim", "state"), "adam");
    const files = [{ path: "model.pt", size: 7, sha256: "a".repeat(64) }, { path: "optim/state", size: 4, sha256: "b".repeat(64) }];
    await placeCheckpoint(join(workDir, "outputs"), { dir, files });
    const folder = join(workDir, "outputs", "checkpoint");
    expect(await readFile(join(folder, "model.pt"), "utf8")).toBe("weights");
    expect(await readFile(join(folder, "optim", "state"), "utf8")).toBe("adam");
    expect((await stat(join(folder, "optim", "state"))).mode & 0o777).toBe(0o666);
    expect((await stat(join(folder, "optim"))).mode & 0o777).toBe(0o777);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });

  it("refuses a path that leaves the folder", async () => {
    const dir = restoredCheckpointDir(workDir);
    await mkdir(dir, { recursive: true });
    await expect(placeCheckpoint(join(workDir, "outputs"), { dir, files: [{ path: "../escape", size: 1, sha256: "a".repeat(64) }] })).rejects.toThrow(/not a path inside/);
  });
});
