// Where a job's files live while it runs: one folder per job under <dataDir>/jobs,
// removed when it ends. The job id comes from the hub, so the path is checked
// here too, not only by the protocol schema: a removal must never leave that folder.
import { basename, dirname, resolve } from "node:path";

export class WorkDirError extends Error {
  override name = "WorkDirError";
}

export function jobWorkDir(dataDir: string, name: string): string {
  return folderNamedIn(resolve(dataDir, "jobs"), name);
}

/** `root/name`, refused unless `name` is one plain folder name (a job id from the hub). */
export function folderNamedIn(folder: string, name: string): string {
  const root = resolve(folder);
  const dir = resolve(root, name);
  if (dirname(dir) !== root || basename(dir) !== name) throw new WorkDirError(`"${name}" cannot name a folder inside ${root}`);
  return dir;
}
