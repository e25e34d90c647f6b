// A real Docker registry on loopback for tests (scripts/localRegistry.ts), so
// image pulls are tested for real without the internet.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTemporaryRegistry, type LocalRegistry } from "../../scripts/localRegistry.ts";
import { freePort } from "./freePort.ts";

export type { LocalRegistry };

export async function startRegistry(): Promise<LocalRegistry> {
  return startTemporaryRegistry(await mkdtemp(join(tmpdir(), "pond-registry-")), await freePort());
}
