// /outputs is a bind mount on the provider's own disk, so a job could fill it
// long before its size is checked at the end. This measures the folder while
// the container runs and says when it has grown past the limits.
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

/**
 * Measures `dir` every `intervalMs` (one measurement at a time) and calls
 * `onExceeded` once, with the reason, when it is past the limits.
 */
export function watchOutputs(
  dir: string,
  limits: OutputLimits,
  onExceeded: (reason: string) => void,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): OutputWatch {
  const intervalMs = options.intervalMs ?? 1_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const measure = async () => {
    try {
      const reason = describeExcess(await folderUsage(dir, limits), limits);
      if (reason && !stopped) {
        stopped = true;
        onExceeded(reason);
        return;
      }
    } catch (error) {
      options.onError?.(error);
    }
    if (!stopped) timer = setTimeout(() => void measure(), intervalMs);
  };
  timer = setTimeout(() => void measure(), intervalMs);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function isGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
