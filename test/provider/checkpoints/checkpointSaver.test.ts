// The checkpoint saver against a real folder: what it uploads and reports, what
// it leaves for the next save, and what a hostile job's folder gets (links,
// too many or too big files) — the upload and the hub are stand-ins that record.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CheckpointFiles } from "../../../protocol/checkpoint.ts";
import { CheckpointSaver, isTemporaryName } from "../../../provider/checkpoints/checkpointSaver.ts";
import { copyBeneath, openFolder } from "../../../provider/checkpoints/folderBeneath.ts";

let root: string;
let dir: string;
let stageDir: string;
let uploads: Array<{ path: string; bytes: string }>;
let reports: CheckpointFiles[];
let notices: string[];
let hubUp: boolean;

function saver(options: { maxBytes?: number; stored?: Array<{ path: string; size: number; sha256: string }>; upload?: () => Promise<void> } = {}) {
  return new CheckpointSaver({
    jobId: "job_test",
    dir,
    stageDir,
    intervalMs: 60_000,
    maxBytes: options.maxBytes ?? 1024 * 1024,
    upload: async (file, copy) => {
      await options.upload?.();
      uploads.push({ path: file.path, bytes: await readFile(copy, "utf8") });
    },
    report: (files) => {
      if (!hubUp) return false;
      reports.push(files);
      return true;
    },
    notice: (text) => notices.push(text),
    log: pino({ level: "silent" }),
    ...(options.stored ? { stored: options.stored } : {}),
  });
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "pond-checkpoint-"));
  dir = join(root, "outputs", "checkpoint");
  stageDir = join(root, "checkpoint-saving");
  await mkdir(dir, { recursive: true });
  uploads = [];
  reports = [];
  notices = [];
  hubUp = true;
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("saving a checkpoint", () => {
  it("uploads every file once, reports the set in path order, and after a change uploads and reports only what changed", async () => {
    await writeFile(join(dir, "model.pt"), "weights 1");
    await mkdir(join(dir, "optim"));
    await writeFile(join(dir, "optim", "state"), "adam 1");
    const s = saver();
    expect(await s.save()).toBe("saved");
    expect(uploads).toEqual([{ path: "model.pt", bytes: "weights 1" }, { path: "optim/state", bytes: "adam 1" }]);
    expect(reports).toHaveLength(1);
    expect(reports[0]!.map((file) => [file.path, file.size])).toEqual([["model.pt", 9], ["optim/state", 6]]);

    expect(await s.save()).toBe("unchanged");
    expect(uploads).toHaveLength(2);
    expect(reports).toHaveLength(1);

    await writeFile(join(dir, "model.pt.tmp"), "weights 2");
    await rm(join(dir, "model.pt"));
    await writeFile(join(dir, "model.pt"), "weights 2");
    expect(await s.save()).toBe("saved");
    expect(uploads.slice(2)).toEqual([{ path: "model.pt", bytes: "weights 2" }]);
    expect(reports[1]!.map((file) => file.path)).toEqual(["model.pt", "optim/state"]);
    // The uploads' copies go once stored; the stage folder goes at stop.
    expect(await readdir(stageDir)).toEqual([]);
    await s.stop();
    await expect(readdir(stageDir)).rejects.toThrow(/ENOENT/);
  });

  it("leaves files under temporary names out, and saves nothing from an empty folder", async () => {
    expect(isTemporaryName("model.pt.tmp")).toBe(true);
    expect(isTemporaryName("sub/.model.pt")).toBe(true);
    expect(isTemporaryName("model.pt.partial")).toBe(true);
    expect(isTemporaryName("model.pt")).toBe(false);
    await writeFile(join(dir, ".hidden"), "x");
    await writeFile(join(dir, "half.tmp"), "x");
    expect(await saver().save()).toBe("empty");
    expect(uploads).toEqual([]);
    expect(reports).toEqual([]);
  });

  it("does not upload again what the job resumed from, and tells the hub again after it was away", async () => {
    await writeFile(join(dir, "model.pt"), "restored");
    const { createHash } = await import("node:crypto");
    const sha = createHash("sha256").update("restored").digest("hex");
    hubUp = false;
    const s = saver({ stored: [{ path: "model.pt", size: 8, sha256: sha }] });
    expect(await s.save()).toBe("unsettled");
    expect(uploads).toEqual([]);
    hubUp = true;
    expect(await s.save()).toBe("saved");
    expect(uploads).toEqual([]);
    expect(reports).toEqual([[{ path: "model.pt", size: 8, sha256: sha }]]);
  });
});

describe("what a save keeps", () => {
  it("uploads a file again when it comes back to content the hub has since let go (A, then B, then A)", async () => {
    const s = saver();
    for (const content of ["A", "B", "A"]) {
      await writeFile(join(dir, "status"), content);
      // A new inode each time, as a rename into place makes.
      expect(await s.save()).toBe("saved");
      await rm(join(dir, "status"));
    }
    expect(uploads.map((upload) => upload.bytes)).toEqual(["A", "B", "A"]);
  });

  it("saves a set at its limits: 64 files holding exactly the provider's cap", async () => {
    await Promise.all(Array.from({ length: 64 }, (_, i) => writeFile(join(dir, `shard-${String(i).padStart(2, "0")}`), Buffer.alloc(16, i))));
    expect(await saver({ maxBytes: 64 * 16 }).save()).toBe("saved");
    expect(reports[0]).toHaveLength(64);
    expect(uploads).toHaveLength(64);
    expect(notices).toEqual([]);
  });

  it("keeps no copy it no longer needs after a failed upload and a change", async () => {
    await writeFile(join(dir, "model.pt"), "weights 1");
    let failing = true;
    const s = saver({ upload: async () => { if (failing) throw new Error("the API is away"); } });
    await expect(s.save()).rejects.toThrow(/the API is away/);
    // The copy waits for the next try.
    expect(await readdir(stageDir)).toHaveLength(1);
    await rm(join(dir, "model.pt"));
    await writeFile(join(dir, "model.pt"), "weights 2");
    failing = false;
    expect(await s.save()).toBe("saved");
    expect(uploads).toEqual([{ path: "model.pt", bytes: "weights 2" }]);
    expect(await readdir(stageDir)).toEqual([]);
  });
});

describe("a hostile job's checkpoint folder", () => {
  it("is refused when the folder itself is a link, and nothing under the link is read", async () => {
    const elsewhere = join(root, "host-folder");
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, "id_ed25519"), "the provider's own key");
    await rm(dir, { recursive: true });
    await symlink(elsewhere, dir);
    expect(await saver().save()).toBe("refused");
    expect(notices).toEqual(["checkpoint not saved: /outputs/checkpoint is not a folder (a link or a file where the folder was)"]);
    expect(uploads).toEqual([]);
  });

  it("never copies more than the budget, whatever the file's size", async () => {
    await writeFile(join(dir, "big"), Buffer.alloc(4096));
    const folder = await openFolder(dir);
    if (typeof folder === "string") throw new Error(folder);
    await mkdir(stageDir, { recursive: true });
    expect(await copyBeneath(folder, "big", join(stageDir, "copy"), 4095)).toEqual({ ok: false, why: "too-big" });
    const whole = await copyBeneath(folder, "big", join(stageDir, "copy"), 4096);
    await folder.close();
    expect(whole.ok && whole.file.size).toBe(4096);
  });

  it("is refused when it holds a link, whichever way it points, and the job is told once", async () => {
    const secret = join(root, "host-secret");
    await writeFile(secret, "the provider's own file");
    await writeFile(join(dir, "model.pt"), "weights");
    await symlink(secret, join(dir, "stolen"));
    const s = saver();
    expect(await s.save()).toBe("refused");
    expect(await s.save()).toBe("refused");
    expect(notices).toEqual(['checkpoint not saved: "stolen" is not a regular file or folder (links and devices are not saved)']);
    expect(uploads).toEqual([]);
    expect(reports).toEqual([]);
  });

  it("never reads through a folder swapped for a link after the listing", async () => {
    const elsewhere = join(root, "elsewhere");
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, "state"), "the provider's own file");
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "sub", "state"), "job state");
    // As if the job swapped sub for a link between the walk and the read.
    await rm(join(dir, "sub"), { recursive: true });
    await symlink(elsewhere, join(dir, "sub"));
    await mkdir(stageDir, { recursive: true });
    const folder = await openFolder(dir);
    if (typeof folder === "string") throw new Error(folder);
    expect(await copyBeneath(folder, "sub/state", join(stageDir, "copy"), 1024)).toEqual({ ok: false, why: "not-a-folder" });
    await folder.close();
    expect(await readdir(stageDir)).toEqual([]);
    // And the whole save refuses it, naming it.
    expect(await saver().save()).toBe("refused");
    expect(notices).toEqual(['checkpoint not saved: "sub" is not a regular file or folder (links and devices are not saved)']);
    expect(uploads).toEqual([]);
  });

  it("is refused past the provider's byte cap before anything is copied, and past the file count", async () => {
    await writeFile(join(dir, "big"), Buffer.alloc(2048));
    expect(await saver({ maxBytes: 1024 }).save()).toBe("refused");
    expect(notices[0]).toMatch(/more than the 1024 bytes this provider keeps for a job/);
    expect(await readdir(stageDir)).toEqual([]);
    await rm(join(dir, "big"));
    await Promise.all(Array.from({ length: 65 }, (_, i) => writeFile(join(dir, `shard-${i}`), "x")));
    expect(await saver().save()).toBe("refused");
    expect(notices.at(-1)).toMatch(/more than 64 files/);
    expect(uploads).toEqual([]);
  });

  it("stops during a slow upload: the save gives up, nothing is reported, and stop waits for it", async () => {
    await writeFile(join(dir, "model.pt"), "weights");
    let release!: () => void;
    let uploading!: () => void;
    // Stopped once the upload has begun (the copy before it takes longer on a loaded machine than any fixed wait).
    const begun = new Promise<void>((resolve) => (uploading = resolve));
    const s = saver({
      upload: () =>
        new Promise<void>((resolve) => {
          release = resolve;
          uploading();
        }),
    });
    const saving = s.save();
    await begun;
    const stopping = s.stop();
    release();
    await stopping;
    expect(await saving).toBe("unsettled");
    expect(reports).toEqual([]);
  });
});
