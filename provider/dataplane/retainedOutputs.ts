// Outputs kept after a job ends, so its creator (or a mediator) can fetch them
// peer to peer: <dataDir>/retained/<job>/outputs/, beside the job folders (the
// restart cleanup of <dataDir>/jobs never sees them) and with a record of the
// signed manifest, the transfer manifest (every chunk hashed) and when they
// expire. Expired ones are removed at start and as the daemon runs.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { OutputManifest } from "../../protocol/manifest.ts";
import { TransferManifest } from "../../protocol/transfer.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { folderNamedIn } from "../workDir.ts";
import { keptFolderNames, linkFilesInto, readKeptRecord, writeKeptRecord } from "./keptFolder.ts";

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
    // Linking and hashing big outputs outlasts a sweep: load() must not take this half-made folder for a leftover.
    this.inProgress.add(jobId);
    try {
      const paths = manifest.files.map((file) => file.path);
      const target = await linkFilesInto(dir, "outputs", outputsDir, paths);
      const transfer = await buildTransferManifest(target, paths);
      const record: RetainedRecord = { v: 1, job_id: jobId, manifest, transfer, expires_at: now + this.retentionMs };
      await writeKeptRecord(dir, record);
      return { record, outputsDir: target };
    } finally {
      this.inProgress.delete(jobId);
    }
  }

  /** What is retained and not expired; expired or unreadable ones are removed. */
  async load(now = Date.now()): Promise<Retained[]> {
    const kept: Retained[] = [];
    for (const name of await keptFolderNames(this.root)) {
      if (this.inProgress.has(name)) continue;
      const record = await readKeptRecord(join(this.root, name), RetainedRecord);
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
