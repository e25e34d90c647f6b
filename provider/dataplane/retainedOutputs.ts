// Outputs kept after a job ends, so its creator (or a mediator) can fetch them
// peer to peer: <dataDir>/retained/<job>/outputs/, beside the job folders (the
// restart cleanup of <dataDir>/jobs never sees them) and with a record of the
// signed manifest, the transfer manifest (every chunk hashed) and when they
// expire. Expired ones are removed at start and as the daemon runs.
import { copyFile, link, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { OutputManifest } from "../../protocol/manifest.ts";
import { TransferManifest } from "../../protocol/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { folderNamedIn } from "../workDir.ts";

const RECORD_FILE = "retained.json";

export const RetainedRecord = z.object({
  v: z.literal(1),
  job_id: z.string(),
  manifest: OutputManifest,
  transfer: TransferManifest,
  /** Unix milliseconds. */
  expires_at: z.int(),
});
export type RetainedRecord = z.infer<typeof RetainedRecord>;

export interface Retained {
  record: RetainedRecord;
  /** The folder the manifest's paths are relative to. */
  outputsDir: string;
}

export class RetainedOutputs {
  /** Jobs whose outputs are being linked and hashed now. */
  private readonly inProgress = new Set<string>();

  constructor(
    private readonly root: string,
    private readonly retentionMs: number,
  ) {}

  get enabled(): boolean {
    return this.retentionMs > 0;
  }

  /**
   * Links the manifest's files out of the ending job's folder (copies them when
   * /outputs is a filesystem of its own), leaving that folder whole until the
   * job is discarded, and hashes their chunks.
   */
  async retain(jobId: string, outputsDir: string, manifest: OutputManifest, now = Date.now()): Promise<Retained> {
    const dir = this.dirOf(jobId);
    const target = join(dir, "outputs");
    // Linking and hashing big outputs outlasts a sweep: load() must not take this half-made folder for a leftover.
    this.inProgress.add(jobId);
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(target, { recursive: true, mode: 0o700 });
      for (const file of manifest.files) {
        const to = join(target, file.path);
        await mkdir(dirname(to), { recursive: true });
        await linkOrCopy(join(outputsDir, file.path), to);
      }
      const transfer = await buildTransferManifest(target, manifest.files.map((file) => file.path));
      const record: RetainedRecord = { v: 1, job_id: jobId, manifest, transfer, expires_at: now + this.retentionMs };
      await writeFile(join(dir, `${RECORD_FILE}.tmp`), JSON.stringify(record));
      await rename(join(dir, `${RECORD_FILE}.tmp`), join(dir, RECORD_FILE));
      return { record, outputsDir: target };
    } finally {
      this.inProgress.delete(jobId);
    }
  }

  /** What is retained and not expired; expired or unreadable ones are removed. */
  async load(now = Date.now()): Promise<Retained[]> {
    let names: string[];
    try {
      names = (await readdir(this.root, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const kept: Retained[] = [];
    for (const name of names) {
      if (this.inProgress.has(name)) continue;
      const record = await readRecord(join(this.root, name));
      if (!record || record.job_id !== name || record.expires_at <= now) await this.remove(name);
      else kept.push({ record, outputsDir: join(this.dirOf(name), "outputs") });
    }
    return kept;
  }

  async remove(jobId: string): Promise<void> {
    await rm(this.dirOf(jobId), { recursive: true, force: true });
  }

  private dirOf(jobId: string): string {
    return folderNamedIn(this.root, jobId);
  }
}

/** A hard link, or a copy where a link cannot be made. */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    // Another filesystem (the job's size-capped /outputs), or files a container's user owns that
    // fs.protected_hardlinks keeps a non-root daemon from linking: a copy does the same.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EXDEV" && code !== "EPERM") throw error;
    await copyFile(from, to);
  }
}

async function readRecord(dir: string): Promise<RetainedRecord | undefined> {
  try {
    const parsed = RetainedRecord.safeParse(JSON.parse(await readFile(join(dir, RECORD_FILE), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
