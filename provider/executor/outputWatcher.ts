// /outputs is a bind mount on the provider's disk (or a filesystem of the cap's
// size, outputVolume.ts), so a job could fill it long before its size is
// checked at the end. This measures it while the container runs, at once when
// the folder changes (fs.watch) and every interval besides, and says when it
// has grown past the limits.
import { watch, type FSWatcher } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { OutputLimits } from "./outputs.ts";

export interface FolderUsage {
  bytes: number;
  /** Everything that is not a folder (the manifest refuses all but regular files later). */
  files: number;
  folders: number;
}

/**
 * Total size (as `ls -l` counts it), files and folders under `dir`, links
 * not followed. Stops counting once past `limits`: the answer is then only
 * known to exceed them. Entries that vanish while it walks are skipped.
 */
export async function folderUsage(dir: string, limits?: OutputLimits): Promise<FolderUsage> {
  const usage: FolderUsage = { bytes: 0, files: 0, folders: 0 };
  // Folders cost the disk inodes too; as many as files may be is plenty.
  const over = () => limits !== undefined && (usage.bytes > limits.maxTotalBytes || usage.files > limits.maxFiles || usage.folders > limits.maxFiles);
  // A stack, not recursion: a job can nest folders as deep as it likes.
  const pending = [dir];
  while (pending.length > 0 && !over()) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (isGone(error)) continue;
      throw error;
    }
    for (const entry of entries) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) {
        usage.folders += 1;
        pending.push(full);
      } else {
        usage.files += 1;
        try {
          usage.bytes += (await lstat(full)).size;
        } catch (error) {
          if (!isGone(error)) throw error;
        }
      }
      if (over()) break;
    }
  }
  return usage;
}

/** What went past the limit, worded for the creator. */
export function describeExcess(usage: FolderUsage, limits: OutputLimits): string | undefined {
  if (usage.bytes > limits.maxTotalBytes) return `the job wrote more than ${limits.maxTotalBytes} bytes to /outputs`;
  if (usage.files > limits.maxFiles) return `the job wrote more than ${limits.maxFiles} files to /outputs`;
  if (usage.folders > limits.maxFiles) return `the job made more than ${limits.maxFiles} folders in /outputs`;
  return undefined;
}

export interface OutputWatch {
  stop(): void;
}

export interface WatchOptions {
  /** How it is measured; the folder's walk by default. */
  measure?: () => Promise<FolderUsage>;
  /** Between looks when nothing is heard of the folder. */
  intervalMs?: number;
  /** Least time between two looks, however often the folder changes. */
  minGapMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Measures `dir` when it changes and every `intervalMs` (one measurement at a
 * time), and calls `onExceeded` once, with the reason, when it is past the limits.
 */
export function watchOutputs(dir: string, limits: OutputLimits, onExceeded: (reason: string) => void, options: WatchOptions = {}): OutputWatch {
  const intervalMs = options.intervalMs ?? 1_000;
  const minGapMs = options.minGapMs ?? 50;
  const measure = options.measure ?? (() => folderUsage(dir, limits));
  let stopped = false;
  let measuring = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let dueAt = Infinity;
  // A throttle, not a debounce: a folder that changes all the time is still looked at.
  const schedule = (delayMs: number) => {
    if (stopped || Date.now() + delayMs >= dueAt) return;
    clearTimeout(timer);
    dueAt = Date.now() + delayMs;
    timer = setTimeout(() => {
      dueAt = Infinity;
      void look();
    }, delayMs);
  };
  const look = async () => {
    measuring = true;
    try {
      const reason = describeExcess(await measure(), limits);
      if (reason && !stopped) {
        stop();
        onExceeded(reason);
        return;
      }
    } catch (error) {
      options.onError?.(error);
    } finally {
      measuring = false;
    }
    const changedMeanwhile = again;
    again = false;
    schedule(changedMeanwhile ? minGapMs : intervalMs);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { recursive: true, persistent: false }, () => {
      if (measuring) again = true;
      else schedule(minGapMs);
    });
    // Out of inotify watches, or the folder went away: the interval still looks.
    watcher.on("error", (error) => options.onError?.(error));
  } catch (error) {
    options.onError?.(error);
  }
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    watcher?.close();
  };
  schedule(intervalMs);
  return { stop };
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
