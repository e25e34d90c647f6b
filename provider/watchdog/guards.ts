// The watchdog's folder: a guard file per container (`guards/<container>.json`,
// written whole by the daemon, dropped by the watchdog once the container has
// ended), the watchdog's pid file and its log. Files, not messages: a watchdog
// that starts after a daemon died still finds every container it must watch.
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ContainerGuardFile } from "./args.ts";

export const pidFileIn = (dir: string) => join(dir, "watchdog.pid");
export const logFileIn = (dir: string) => join(dir, "watchdog.log");
export const guardsDirIn = (dir: string) => join(dir, "guards");

export async function writeGuard(dir: string, guard: ContainerGuardFile): Promise<void> {
  const file = join(guardsDirIn(dir), `${ContainerGuardFile.parse(guard).container}.json`);
  await writeFile(`${file}.tmp`, JSON.stringify(guard), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

export interface GuardListing {
  guards: ContainerGuardFile[];
  /** Files that are not guards (cut short, edited by hand): the caller drops them, once each. */
  unreadable: Array<{ file: string; error: string }>;
}

/** Every guard in `dir`; undefined when the folder itself is gone (the daemon's data folder was removed). */
export async function readGuards(dir: string): Promise<GuardListing | undefined> {
  let names: string[];
  try {
    names = await readdir(guardsDirIn(dir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const listing: GuardListing = { guards: [], unreadable: [] };
  for (const name of names.filter((n) => n.endsWith(".json"))) {
    const file = join(guardsDirIn(dir), name);
    try {
      const guard = ContainerGuardFile.safeParse(JSON.parse(await readFile(file, "utf8")));
      if (guard.success && `${guard.data.container}.json` === name) listing.guards.push(guard.data);
      else listing.unreadable.push({ file, error: "not a container guard" });
    } catch (error) {
      // Dropped by the watchdog between the listing and the read: nothing to guard.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      listing.unreadable.push({ file, error: (error as Error).message });
    }
  }
  return listing;
}

export async function dropGuard(dir: string, container: string): Promise<void> {
  await rm(join(guardsDirIn(dir), `${container}.json`), { force: true });
}
