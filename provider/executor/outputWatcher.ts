// /outputs is a bind mount on the provider's disk (or a filesystem of the cap's
// size, outputVolume.ts), so a job could fill it long before its size is
// checked at the end. This measures it while the container runs, every so
// often, and says when it has grown past the limits. Never with fs.watch: on
// Linux a recursive watch takes one inotify watch per file and rescans on
// every change, a cost that grows with the square of the job's files (20,000
// empty files held the daemon's event loop for over ten minutes). A look costs
// what the limits allow, not what the job wrote: a filesystem's counters
// (statfs), or a walk that stops once past the limits.
import { lstat } from "node:fs/promises";
import { isGone, OutputsError, walkOutputs, type OutputLimits } from "./outputs.ts";

/** What a walk counted: files and folders apart. */
export interface FolderUsage {
  bytes: number;
  /** Everything that is not a folder (the manifest refuses all but regular files later). */
  files: number;
  folders: number;
  /** Why these outputs could never be kept, whatever their size (paths nested too deeply). */
  refused?: string;
}

/** What a volume's counters say: only files and folders together (each takes an inode). */
export interface VolumeUsage {
  bytes: number;
  entries: number;
}

export type OutputUsage = FolderUsage | VolumeUsage;

/**
 * Total size (as `ls -l` counts it), files and folders under `dir`, links
 * not followed. Stops counting once past `limits`: the answer is then only
 * known to exceed them. Entries that vanish while it walks are skipped.
 */
export async function folderUsage(dir: string, limits?: OutputLimits): Promise<FolderUsage> {
  const usage: FolderUsage = { bytes: 0, files: 0, folders: 0 };
  const over = () => limits !== undefined && describeExcess(usage, limits) !== undefined;
  // Files are weighed a batch at a time, side by side: a walk of many small files is mostly waiting on lstat.
  let unweighed: string[] = [];
  const weigh = async () => {
    for (const size of await Promise.all(unweighed.map(sizeOf))) usage.bytes += size;
    unweighed = [];
  };
  try {
    for await (const entry of walkOutputs(dir)) {
      if (entry.kind === "folder") usage.folders += 1;
      else {
        usage.files += 1;
        unweighed.push(entry.full);
        if (unweighed.length >= WEIGHED_AT_ONCE) await weigh();
      }
      if (over()) break;
    }
    await weigh();
  } catch (error) {
    if (!(error instanceof OutputsError)) throw error;
    usage.refused = error.message;
  }
  return usage;
}

const WEIGHED_AT_ONCE = 64;

/** What went past the limit, worded for the creator. */
export function describeExcess(usage: OutputUsage, limits: OutputLimits): string | undefined {
  if ("refused" in usage && usage.refused) return usage.refused;
  if (usage.bytes > limits.maxTotalBytes) return `the job wrote more than ${limits.maxTotalBytes} bytes to /outputs`;
  if ("entries" in usage) {
    // As many folders as files may be: the volume's inode budget (outputVolume.ts). The files alone are counted at the end.
    const most = 2 * limits.maxFiles;
    return usage.entries > most ? `the job made more than ${most} files and folders in /outputs (at most ${limits.maxFiles} files are kept)` : undefined;
  }
  if (usage.files > limits.maxFiles) return `the job wrote more than ${limits.maxFiles} files to /outputs`;
  // Folders cost the disk inodes too; as many as files may be is plenty.
  if (usage.folders > limits.maxFiles) return `the job made more than ${limits.maxFiles} folders in /outputs`;
  return undefined;
}

export interface OutputWatch {
  stop(): void;
}

export interface WatchOptions {
  /** How it is measured; the folder's walk by default. */
  measure?: () => Promise<OutputUsage>;
  /** Least time between two looks. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * A look takes at most this share of the time: a slow walk (a folder of many
 * files, a busy disk) spaces the looks out rather than keeping the daemon busy.
 */
const LOOK_SHARE = 0.5;

/**
 * Measures `dir` every `intervalMs` (or longer, see LOOK_SHARE; one look at a
 * time), and calls `onExceeded` once, with the reason, when it is past the limits.
 */
export function watchOutputs(dir: string, limits: OutputLimits, onExceeded: (reason: string) => void, options: WatchOptions = {}): OutputWatch {
  const intervalMs = options.intervalMs ?? 1_000;
  const measure = options.measure ?? (() => folderUsage(dir, limits));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const look = async () => {
    const started = Date.now();
    try {
      const reason = describeExcess(await measure(), limits);
      if (reason && !stopped) {
        stop();
        onExceeded(reason);
        return;
      }
    } catch (error) {
      options.onError?.(error);
    }
    if (!stopped) timer = setTimeout(look, Math.max(intervalMs, (Date.now() - started) / LOOK_SHARE));
  };
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  timer = setTimeout(look, intervalMs);
  return { stop };
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await lstat(path)).size;
  } catch (error) {
    if (isGone(error)) return 0;
    throw error;
  }
}
