// Saves a running job's checkpoint (protocol/checkpoint.ts): every interval, what
// the job left in /outputs/checkpoint is copied out of its reach (folderBeneath.ts:
// no link followed anywhere, each copy bounded) and hashed, a file only when its
// size, times or inode changed; each file not yet stored is uploaded from that
// copy, and the hub is told the set. One save at a time, the next an interval
// after the last ended. A file that changed while it was read, or one under a
// temporary name, waits for the next save; a link, a device, or more than the
// provider's output cap stops that save and the job is told why. The copies live
// in a folder of the daemon's only until they are stored, so it holds at most
// about twice the cap (the last save's and this one's) while a save runs.
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FileHandle } from "node:fs/promises";
import type { Logger } from "pino";
import { MAX_CHECKPOINT_PATH, type CheckpointFiles } from "../../protocol/checkpoint.ts";
import { RelativePath } from "../../protocol/jobSpec.ts";
import { checkpointLimits } from "../../protocol/limits.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { copyBeneath, identityBeneath, openFolder, walkBeneath, type CopiedFile } from "./folderBeneath.ts";

export interface CheckpointSaverOptions {
  jobId: string;
  /** The job's checkpoint folder on this host (`<workDir>/outputs/checkpoint`): its parent, the job's /outputs, is the daemon's. */
  dir: string;
  /** A folder of the daemon's, out of the container's sight, for the copies uploads read (removed at stop). */
  stageDir: string;
  intervalMs: number;
  /** Most bytes one checkpoint may hold: the provider's output cap. */
  maxBytes: number;
  /** Stores one file where the hub (and a later provider) can find it: an output upload under checkpoint/<path>. */
  upload(file: ManifestFile, copy: string, signal: AbortSignal): Promise<void>;
  /** Tells the hub; false when the connection is down (the next save tells it again). */
  report(files: CheckpointFiles): boolean;
  /** Something the job's author should read in its log (once per distinct problem). */
  notice(text: string): void;
  log: Logger;
  /** Files already stored (the checkpoint this job resumed from). */
  stored?: readonly ManifestFile[];
}

export type SaveOutcome = "saved" | "unchanged" | "empty" | "unsettled" | "refused";

/** Names a job writes before it renames them into place: never part of a checkpoint. */
export function isTemporaryName(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.startsWith(".") || name.endsWith(".tmp") || name.endsWith(".partial");
}

const quoted = (path: string) => JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path);

class Refused extends Error {}

const notRegular = (path: string) => new Refused(`${quoted(path)} is not a regular file or folder (links and devices are not saved)`);

export class CheckpointSaver {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly abort = new AbortController();
  /** The files as last copied, by path: one unchanged since is not read again. */
  private readonly hashes = new Map<string, CopiedFile>();
  /** `path NUL sha256` of the files in the set the hub last kept (or this job resumed from): in R2, not uploaded again. */
  private stored: Set<string>;
  private lastReported = "";
  private lastNotice = "";

  constructor(private readonly options: CheckpointSaverOptions) {
    this.stored = new Set((options.stored ?? []).map(idOf));
  }

  start(): void {
    this.schedule();
  }

  /** No save starts after this; one under way is given up (its uploads aborted) and waited for. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.saving;
    await rm(this.options.stageDir, { recursive: true, force: true });
  }

  /** One save now (the timer's, and tests'). */
  save(): Promise<SaveOutcome> {
    const run = this.saving.then(() => this.saveOnce());
    this.saving = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.save()
        .catch((error: unknown) => {
          if (!this.stopped) this.options.log.warn({ err: error, job: this.options.jobId }, "could not save the job's checkpoint; trying again at the next interval");
        })
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async saveOnce(): Promise<SaveOutcome> {
    const root = await openFolder(this.options.dir);
    if (root === "gone") return "empty";
    if (typeof root === "string") return this.refuse("/outputs/checkpoint is not a folder (a link or a file where the folder was)");
    await mkdir(this.options.stageDir, { recursive: true, mode: 0o700 });
    try {
      return await this.saveFrom(root);
    } catch (error) {
      if (error instanceof Refused) return this.refuse(error.message);
      throw error;
    } finally {
      await root.close();
      await this.tidyStage();
    }
  }

  private async saveFrom(root: FileHandle): Promise<SaveOutcome> {
    const { log, jobId, stageDir, maxBytes } = this.options;
    const paths = await this.list(root);
    // Copies of files no longer there are not needed again.
    for (const path of this.hashes.keys()) if (!paths.includes(path)) this.hashes.delete(path);
    if (paths.length === 0) return "empty";
    const files: ManifestFile[] = [];
    let bytes = 0;
    for (const path of paths) {
      const file = await this.snapshot(root, path, maxBytes - bytes);
      if (file === undefined) return "unsettled";
      bytes += file.size;
      files.push(file);
    }
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    const key = JSON.stringify(files);
    if (key === this.lastReported) return "unchanged";
    for (const file of files) {
      if (this.stored.has(idOf(file))) continue;
      this.abort.signal.throwIfAborted();
      await this.options.upload(file, join(stageDir, file.sha256), this.abort.signal);
    }
    if (this.stopped || !this.options.report(files)) return "unsettled";
    // The hub keeps this set and deletes the last one's other files: only these are stored from now on.
    this.stored = new Set(files.map(idOf));
    this.lastReported = key;
    log.info({ job: jobId, files: files.length, bytes }, "checkpoint saved");
    return "saved";
  }

  /** The paths a checkpoint would hold now; Refused saying why none can be taken. */
  private async list(root: FileHandle): Promise<string[]> {
    const paths: string[] = [];
    for await (const entry of walkBeneath(root)) {
      if (entry.kind === "refused" || entry.kind === "other") throw notRegular(entry.path);
      if (entry.kind === "folder" || isTemporaryName(entry.path)) continue;
      if (entry.path.length > MAX_CHECKPOINT_PATH) throw new Refused(`${quoted(entry.path)} is longer than the ${MAX_CHECKPOINT_PATH} characters a checkpoint file's path may have`);
      if (!RelativePath.safeParse(entry.path).success) throw new Refused(`${quoted(entry.path)} has a name outputs may not have (letters, digits, . _ - and / only)`);
      paths.push(entry.path);
      if (paths.length > checkpointLimits.maxFiles) throw new Refused(`it holds more than ${checkpointLimits.maxFiles} files`);
    }
    return paths;
  }

  /**
   * The file's entry: copied out and hashed again only when its identity changed (an unchanged one's copy is kept
   * until it is stored). Undefined when it went or changed while it was read: the next save takes it. Refused past
   * `budget` bytes, before more than that is copied.
   */
  private async snapshot(root: FileHandle, path: string, budget: number): Promise<ManifestFile | undefined> {
    const tooBig = () => new Refused(`it holds more than the ${this.options.maxBytes} bytes this provider keeps for a job`);
    const known = this.hashes.get(path);
    if (known) {
      const now = await identityBeneath(root, path);
      if (now === "gone") return undefined;
      if (typeof now === "string") throw notRegular(path);
      if (now.size === known.size && now.mtimeMs === known.mtimeMs && now.ctimeMs === known.ctimeMs && now.ino === known.ino) {
        if (known.size > budget) throw tooBig();
        return { path, size: known.size, sha256: known.sha256 };
      }
    }
    const partial = join(this.options.stageDir, `copy-${Math.random().toString(36).slice(2)}`);
    try {
      const copied = await copyBeneath(root, path, partial, budget, this.abort.signal);
      if (!copied.ok) {
        if (copied.why === "too-big") throw tooBig();
        if (copied.why === "not-a-file" || copied.why === "not-a-folder") throw notRegular(path);
        return undefined;
      }
      await rename(partial, join(this.options.stageDir, copied.file.sha256));
      this.hashes.set(path, copied.file);
      return { path, size: copied.file.size, sha256: copied.file.sha256 };
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** Keeps in the stage folder only the copies a later upload may still need: of files still there, not yet stored. */
  private async tidyStage(): Promise<void> {
    const needed = new Set([...this.hashes].filter(([path, file]) => !this.stored.has(idOf({ path, sha256: file.sha256 }))).map(([, file]) => file.sha256));
    const present = await readdir(this.options.stageDir).catch(() => [] as string[]);
    await Promise.all(present.filter((name) => !needed.has(name)).map((name) => rm(join(this.options.stageDir, name), { force: true })));
  }

  private refuse(why: string): SaveOutcome {
    const text = `checkpoint not saved: ${why}`;
    this.options.log.warn({ job: this.options.jobId, why }, "checkpoint not saved");
    if (text !== this.lastNotice) this.options.notice(text);
    this.lastNotice = text;
    return "refused";
  }
}

const idOf = (file: Pick<ManifestFile, "path" | "sha256">) => `${file.path}\0${file.sha256}`;
