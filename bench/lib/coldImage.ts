// An image a pull must move whole, on an engine that already holds its layers
// (the one the benchmarks and the providers share): the image's file system
// flattened into one new layer (docker export | docker import, with its
// config), pushed to the local registry, and every local name dropped, so the
// layer exists only in the registry. Removing it again makes the next pull cold again.
import { spawn } from "node:child_process";
import Docker from "dockerode";
import type { LocalRegistry } from "../../scripts/localRegistry.ts";

const docker = new Docker();
const REPOSITORY = "pond-bench/ml-cold";

export interface ColdImage {
  /** host/repository@sha256:…, as a job names it. */
  pinned: string;
  /** Its size in the engine once pulled. */
  bytes: number;
  /** Drops it from the engine (every name, so its layer too): the next pull of `pinned` moves every byte again. */
  evict(): Promise<void>;
}

function sh(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", script, "bash", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${script} failed (${code}): ${stderr.slice(-2000)}`))));
  });
}

/** Removes every image with a name in `repository` (on this engine, under any registry host). */
async function removeNamed(repository: string): Promise<void> {
  for (const image of await docker.listImages()) {
    const names = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])];
    if (names.some((name) => name.startsWith(`${repository}:`) || name.includes(`/${repository}:`) || name.includes(`/${repository}@`))) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        });
    }
  }
}

export async function coldCopyOf(localImage: string, registry: LocalRegistry, tag: string): Promise<ColdImage> {
  await removeNamed(REPOSITORY);
  const config = (await docker.getImage(localImage).inspect()).Config;
  const changes = [...(config.Env ?? []).map((env) => `ENV ${env}`), ...(config.Cmd ? [`CMD ${JSON.stringify(config.Cmd)}`] : []), ...(config.WorkingDir ? [`WORKDIR ${config.WorkingDir}`] : [])];
  const container = await docker.createContainer({ Image: localImage, Cmd: ["true"] });
  try {
    // One layer holding the whole file system: no image on this engine has it.
    await sh(`docker export "$1" | docker import ${changes.map((_, i) => `--change "\${${i + 3}}"`).join(" ")} - "$2"`, [container.id, `${REPOSITORY}:${tag}`, ...changes]);
  } finally {
    await container.remove({ force: true });
  }
  const pinned = await registry.push(`${REPOSITORY}:${tag}`, REPOSITORY, tag);
  const bytes = (await docker.getImage(`${REPOSITORY}:${tag}`).inspect()).Size;
  const evict = () => removeNamed(REPOSITORY);
  await evict();
  return { pinned, bytes, evict };
}
