// Removing a job's folder. Node's rm builds every path whole, so it cannot
// unlink what a job nested deeper than a path may be long (ENAMETOOLONG);
// GNU rm walks with openat and can, so it takes over there.
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function removeFolder(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENAMETOOLONG") throw error;
    // --one-file-system: a volume still mounted in it is left alone, never emptied.
    await run("rm", ["-rf", "--one-file-system", "--", dir]);
  }
}
