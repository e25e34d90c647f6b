// A job's input files kept after it ends, until its settlement is final, so a
// mediator drawn for a challenge fetches them from this provider peer to peer
// (the creator puts them in the relay only when no peer connection came up).
// <dataDir>/retained-inputs/<job>/inputs/ holds links to the files the job read,
// made as soon as they were fetched and checked (so the job's folder goes as
// usual), with a record of the transfer manifest they came with. The API says
// when a job's inputs are no longer needed; MAX_INPUT_RETENTION_MS bounds the
// disk they hold when it never can.
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { TransferManifest } from "../../protocol/transfer.ts";
import { folderNamedIn } from "../workDir.ts";
import type { KeptFiles } from "./retainedFilesServer.ts";

/** Kept inputs, with when they were kept (Unix ms). */
export type KeptInputs = KeptFiles & { keptAt: number };
import { linkOrCopy } from "./retainedOutputs.ts";

const RECORD_FILE = "retained.json";
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
    const target = join(dir, "inputs");
    await rm(dir, { recursive: true, force: true });
    await mkdir(target, { recursive: true, mode: 0o700 });
    for (const file of transfer.files) {
      const to = join(target, file.path);
      await mkdir(dirname(to), { recursive: true });
      await linkOrCopy(join(inputsDir, file.path), to);
    }
    const record: RetainedInputsRecord = { v: 1, job_id: jobId, transfer, kept_at: now };
    await writeFile(join(dir, `${RECORD_FILE}.tmp`), JSON.stringify(record));
    await rename(join(dir, `${RECORD_FILE}.tmp`), join(dir, RECORD_FILE));
    return { jobId, manifest: transfer, root: target, keptAt: now };
  }

  /** What is kept and younger than the longest retention; older or unreadable ones are removed. */
  async load(now = Date.now()): Promise<KeptInputs[]> {
    let names: string[];
    try {
      names = (await readdir(this.root, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const kept: KeptInputs[] = [];
    for (const name of names) {
      const record = await readRecord(join(this.root, name));
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

async function readRecord(dir: string): Promise<RetainedInputsRecord | undefined> {
  try {
    const parsed = RetainedInputsRecord.safeParse(JSON.parse(await readFile(join(dir, RECORD_FILE), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
