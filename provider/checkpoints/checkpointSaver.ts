// Saves a running job's checkpoint (protocol/checkpoint.ts): every interval, what
// the job left in /outputs/checkpoint is copied out (copyOut.ts: the container
// may swap a file for a link at any time; a file only when its size, time or
// inode changed) and hashed, each file not yet stored is uploaded from that
// copy, and the hub is told the set. One save at a time, the next an interval
// after the last ended, so the hub never sees two closer than that. A file that
// changed while it was read, or one under a temporary name, waits for the next
// save; a link or a device stops that save and the job is told why.
import { lstat, mkdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import type { CheckpointFiles } from "../../protocol/checkpoint.ts";
import { RelativePath } from "../../protocol/jobSpec.ts";
import { checkpointLimits } from "../../protocol/limits.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import { walkOutputs } from "../executor/outputs.ts";
import { copyOut, identityOf, type CopiedFile } from "./copyOut.ts";

export interface CheckpointSaverOptions {
  jobId: string;
  /** The job's checkpoint folder on this host (`<workDir>/outputs/checkpoint`). */
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
  /** Files already stored (a checkpoint this job resumed from): `path NUL sha256`. */
  stored?: Iterable<string>;
}

export type SaveOutcome = "saved" | "unchanged" | "empty" | "unsettled" | "refused";

/** Names a job writes before it renames them into place: never part of a checkpoint. */
export function isTemporaryName(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.startsWith(".") || name.endsWith(".tmp") || name.endsWith(".partial");
}

function tooBig(bytes: number, maxBytes: number): string {
  return `it holds ${bytes} bytes or more, past the ${maxBytes} this provider keeps for a job`;
}

export class CheckpointSaver {
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly hashes = new Map<string, CopiedFile>();
  /** The folder's real path, found at the first save: every file's opened path must be under it, with no link. */
  private root: string | undefined;
  private readonly stored: Set<string>;
  private lastReported = "";
  private lastNotice = "";

  constructor(private readonly options: CheckpointSaverOptions) {
    this.stored = new Set(options.stored ?? []);
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
    const { log, jobId, stageDir } = this.options;
    this.root ??= await realpath(this.options.dir).catch(() => undefined);
    if (!this.root) return "empty";
    await mkdir(stageDir, { recursive: true, mode: 0o700 });
    const listed = await this.list(this.root);
    if (typeof listed === "string") return this.refuse(listed);
    if (listed.length === 0) return "empty";
    const files: ManifestFile[] = [];
    for (const path of listed) {
      const file = await this.snapshot(this.root, path);
      if (file === "not-a-file") return this.refuse(`${JSON.stringify(path)} is not a regular file (links and devices are not saved)`);
      if (file === undefined) return "unsettled";
      files.push(file);
    }
    const bytes = files.reduce((sum, file) => sum + file.size, 0);
    if (bytes > this.options.maxBytes) return this.refuse(tooBig(bytes, this.options.maxBytes));
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    const key = JSON.stringify(files);
    if (key === this.lastReported) return "unchanged";
    for (const file of files) {
      const id = `${file.path}\0${file.sha256}`;
      if (this.stored.has(id)) continue;
      this.abort.signal.throwIfAborted();
      await this.options.upload(file, join(stageDir, file.sha256), this.abort.signal);
      this.stored.add(id);
    }
    // Every file is stored now: their copies have done their work (an unchanged file is not copied again).
    await Promise.all(files.map((file) => rm(join(stageDir, file.sha256), { force: true })));
    if (this.stopped) return "unsettled";
    if (!this.options.report(files)) return "unsettled";
    this.lastReported = key;
    log.info({ job: jobId, files: files.length, bytes }, "checkpoint saved");
    return "saved";
  }

  /** The paths a checkpoint would hold now, or why none can be taken. */
  private async list(root: string): Promise<string[] | string> {
    const paths: string[] = [];
    let bytes = 0;
    for await (const entry of walkOutputs(root)) {
      if (entry.kind === "folder" || isTemporaryName(entry.path)) continue;
      if (entry.kind === "other") return `${JSON.stringify(entry.path)} is not a regular file (links and devices are not saved)`;
      if (!RelativePath.safeParse(entry.path).success) return `${JSON.stringify(entry.path)} has a name outputs may not have (letters, digits, . _ - and / only)`;
      paths.push(entry.path);
      if (paths.length > checkpointLimits.maxFiles) return `it holds more than ${checkpointLimits.maxFiles} files`;
      // Before anything is copied: too much is refused without reading it (the copies' own sizes are checked again).
      bytes += (await lstat(entry.full).catch(() => undefined))?.size ?? 0;
      if (bytes > this.options.maxBytes) return tooBig(bytes, this.options.maxBytes);
    }
    return paths;
  }

  /**
   * The file's entry: copied out and hashed again only when its identity changed (an unchanged one's copy is
   * there until it is stored). Undefined when it went or changed while it was read: the next save takes it.
   */
  private async snapshot(root: string, path: string): Promise<ManifestFile | "not-a-file" | undefined> {
    const full = `${root}/${path}`;
    const known = this.hashes.get(path);
    if (known) {
      const now = await identityOf(full);
      if (now === "not-a-file") return now;
      if (now === "gone") return undefined;
      if (now.size === known.size && now.mtimeMs === known.mtimeMs && now.ino === known.ino) return { path, size: known.size, sha256: known.sha256 };
    }
    const copied = await copyOut(full, this.options.stageDir);
    if (!copied.ok) return copied.why === "not-a-file" ? "not-a-file" : undefined;
    this.hashes.set(path, copied.file);
    return { path, size: copied.file.size, sha256: copied.file.sha256 };
  }

  private refuse(why: string): SaveOutcome {
    const text = `checkpoint not saved: ${why}`;
    this.options.log.warn({ job: this.options.jobId, why }, "checkpoint not saved");
    if (text !== this.lastNotice) this.options.notice(text);
    this.lastNotice = text;
    return "refused";
  }
}
