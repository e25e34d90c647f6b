// A job's size-limited /outputs (outputVolume.ts) costs a format and a loop
// mount: about half a second on a loaded machine, on the path from an accepted
// offer to a running container. So one job folder is made ahead, its volume
// formatted and mounted, under <dataDir>/spare/, and an accepted job's folder is
// that one renamed into place (a rename moves the mount under it with it), while
// the next is made once the job's result is out (or, should it never be,
// after REFILL_DELAY_MS). Leftovers of a daemon
// that died are unmounted and removed at start.
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { removeFolder } from "../folderRemoval.ts";
import { prepareOutputs, unmountOutputVolume, type OutputVolumeKind } from "./outputVolume.ts";

/** How long after a folder is taken the next is made: its format and mount stay off the taken job's start. */
export const REFILL_DELAY_MS = 2_000;
/** A failed make is tried again after the refill delay, doubling each time up to this. */
const MAX_RETRY_DELAY_MS = 60_000;
/** Failures in a row after which only a job's result (refill) tries again: a make that keeps failing is not retried forever. */
const MAX_RETRIES = 5;

export interface SpareJobFoldersOptions {
  /** Where spares are made: on the same filesystem as the job folders, so taking one is a rename. */
  root: string;
  capBytes: number;
  /** Only a filesystem volume is worth making ahead; a plain folder costs nothing. */
  kind: OutputVolumeKind;
  log: Logger;
  refillDelayMs?: number;
  /** Formats and mounts a spare's /outputs (outputVolume.ts); a test may make it fail. */
  prepare?: typeof prepareOutputs;
}

export class SpareJobFolders {
  private ready: string | undefined;
  private making: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Makes that failed in a row: a loop mount can fail for a moment (loop devices all taken, a busy machine). */
  private failures = 0;
  private readonly refillDelayMs: number;

  constructor(private readonly options: SpareJobFoldersOptions) {
    this.refillDelayMs = options.refillDelayMs ?? REFILL_DELAY_MS;
  }

  /** Clears what an earlier daemon left, then makes the first spare. */
  async start(): Promise<void> {
    await mkdir(this.options.root, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.options.root)) await this.discard(join(this.options.root, name));
    this.fill();
  }

  /**
   * Makes `workDir` the job's folder from a spare, its /outputs already mounted; false when none is
   * ready (the caller makes the folder itself). `workDir` must not exist yet.
   */
  async takeInto(workDir: string): Promise<boolean> {
    const spare = this.ready;
    if (!spare) return false;
    this.ready = undefined;
    try {
      await mkdir(dirname(workDir), { recursive: true, mode: 0o700 });
      await rename(spare, workDir);
    } catch (error) {
      this.options.log.warn({ err: error, spare }, "could not use a spare job folder");
      await this.discard(spare);
      return false;
    } finally {
      this.scheduleFill();
    }
    return true;
  }

  /** Makes the next spare now (the job that took the last one has sent its result): sooner than the timer takeInto set. */
  refill(): void {
    clearTimeout(this.timer);
    this.fill();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.making;
    if (this.ready) await this.discard(this.ready);
    this.ready = undefined;
  }

  private scheduleFill(delayMs = this.refillDelayMs): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fill(), delayMs);
    this.timer.unref();
  }

  private fill(): void {
    if (this.options.kind !== "filesystem" || this.closed || this.ready || this.making) return;
    const dir = join(this.options.root, randomBytes(8).toString("hex"));
    this.making = (async () => {
      try {
        await mkdir(dir, { mode: 0o700 });
        await (this.options.prepare ?? prepareOutputs)(dir, this.options.capBytes, "filesystem");
        this.failures = 0;
        if (this.closed) await this.discard(dir);
        else {
          this.ready = dir;
          this.options.log.debug({ dir }, "spare job folder ready");
        }
      } catch (error) {
        // Meanwhile jobs make their own volume, as they would without spares; and a take never
        // comes to schedule the next make while none is ready, so the retry is scheduled here.
        this.failures++;
        const retryMs = Math.min(this.refillDelayMs * 2 ** (this.failures - 1), MAX_RETRY_DELAY_MS);
        const retrying = this.failures <= MAX_RETRIES;
        this.options.log.warn({ err: error, ...(retrying ? { retryMs } : {}) }, retrying ? "could not make a spare job folder; trying again later" : "could not make a spare job folder; trying again after the next job");
        await this.discard(dir);
        if (!this.closed && retrying) this.scheduleFill(retryMs);
      } finally {
        this.making = undefined;
      }
    })();
  }

  private async discard(dir: string): Promise<void> {
    try {
      await unmountOutputVolume(dir);
      await removeFolder(dir);
    } catch (error) {
      this.options.log.warn({ err: error, dir }, "could not remove a spare job folder");
    }
  }
}
