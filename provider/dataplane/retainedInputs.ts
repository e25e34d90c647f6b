// A job's input files kept after it ends, until its settlement is final, so a
// mediator drawn for a challenge fetches them from this provider peer to peer
// (the creator puts them in the relay only when no peer connection came up).
// <dataDir>/retained-inputs/<job>/inputs/ holds links to the files the job read,
// made as soon as they were fetched and checked (so the job's folder goes as
// usual), with a record of the transfer manifest they came with. The API says
// when a job's inputs are no longer needed; MAX_INPUT_RETENTION_MS bounds the
// disk they hold when it never can.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { TransferManifest } from "../../protocol/transfer.ts";
import { folderNamedIn } from "../workDir.ts";
import { keptFolderNames, linkFilesInto, readKeptRecord, writeKeptRecord } from "./keptFolder.ts";
import type { KeptFiles } from "./retainedFilesServer.ts";

/** Kept inputs, with when they were kept (Unix ms). */
export type KeptInputs = KeptFiles & { keptAt: number };
/** The longest a settlement stays open (a 6 h challenge window, then 2 days of mediation) with room to spare. */
export const MAX_INPUT_RETENTION_MS = 7 * 24 * 3600 * 1000;

export const RetainedInputsRecord = z.object({
  v: z.literal(1),
  job_id: z.string(),
  transfer: TransferManifest,
  /** Unix milliseconds. */
  kept_at: z.int(),
});
export type RetainedInputsRecord = z.infer<typeof RetainedInputsRecord>;

export class RetainedInputs {
  constructor(
    private readonly root: string,
    private readonly maxAgeMs = MAX_INPUT_RETENTION_MS,
  ) {}

  /** Links the manifest's files out of the job's inputs folder (copies them across file systems). */
  async retain(jobId: string, inputsDir: string, transfer: TransferManifest, now = Date.now()): Promise<KeptInputs> {
    const dir = this.dirOf(jobId);
    const target = await linkFilesInto(dir, "inputs", inputsDir, transfer.files.map((file) => file.path));
    const record: RetainedInputsRecord = { v: 1, job_id: jobId, transfer, kept_at: now };
    await writeKeptRecord(dir, record);
    return { jobId, manifest: transfer, root: target, keptAt: now };
  }

  /** What is kept and younger than the longest retention; older or unreadable ones are removed. */
  async load(now = Date.now()): Promise<KeptInputs[]> {
    const kept: KeptInputs[] = [];
    for (const name of await keptFolderNames(this.root)) {
      const record = await readKeptRecord(join(this.root, name), RetainedInputsRecord);
      if (!record || record.job_id !== name || now - record.kept_at > this.maxAgeMs) await this.remove(name);
      else kept.push({ jobId: name, manifest: record.transfer, root: join(this.dirOf(name), "inputs"), keptAt: record.kept_at });
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
