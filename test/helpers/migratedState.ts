// wrangler's local state with every D1 migration applied, made once and copied
// for each `wrangler dev` a test starts. `wrangler d1 migrations apply` starts
// a fresh Miniflare per migration (about 3 s each on this machine), so running
// it for every stack cost ~20 s a start. The template is made by that same
// command, into a folder named after the migrations' content and wrangler's
// version, so a changed migration makes a new one; concurrent test files race
// to make it and the first complete one wins.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const WRANGLER = "node_modules/.bin/wrangler";
const MIGRATIONS = "migrations";

async function templateName(): Promise<string> {
  const hash = createHash("sha256");
  hash.update((JSON.parse(await readFile("node_modules/wrangler/package.json", "utf8")) as { version: string }).version);
  for (const file of (await readdir(MIGRATIONS)).filter((name) => name.endsWith(".sql")).sort()) {
    hash.update(file).update(await readFile(join(MIGRATIONS, file)));
  }
  return `pond-d1-migrated-${hash.digest("hex").slice(0, 16)}`;
}

const exists = (path: string) => stat(path).then(() => true, () => false);

async function migratedTemplate(env: NodeJS.ProcessEnv): Promise<string> {
  const template = join(tmpdir(), await templateName());
  if (await exists(template)) return template;
  const building = await mkdtemp(join(tmpdir(), "pond-d1-migrating-"));
  try {
    await run(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", building], { env });
    // rename is atomic: another file that finished first keeps its copy, and this one is dropped.
    await rename(building, template).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return template;
}

/** Fills `persist` (an empty folder) with local state whose D1 has every migration applied. */
export async function copyMigratedState(persist: string, env: NodeJS.ProcessEnv): Promise<void> {
  await cp(await migratedTemplate(env), persist, { recursive: true });
}
