// A real Docker registry on loopback for tests (scripts/localRegistry.ts), so
// image pulls are tested for real without the internet; with users, a private one.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { startTemporaryRegistry, type LocalRegistry } from "../../scripts/localRegistry.ts";
import { freePort } from "./freePort.ts";

export type { LocalRegistry };

/** `users`: name → password; the registry then answers only them (htpasswd, bcrypt, as distribution takes it). */
export async function startRegistry(users?: Record<string, string>): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "pond-registry-"));
  if (!users) return startTemporaryRegistry(dir, await freePort());
  const htpasswd = join(dir, "htpasswd");
  await writeFile(htpasswd, Object.entries(users).map(([name, password]) => `${name}:${bcrypt.hashSync(password, 4)}\n`).join(""));
  return startTemporaryRegistry(dir, await freePort(), htpasswd);
}
