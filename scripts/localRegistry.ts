// A real Docker registry (Debian's docker-registry, i.e. distribution) on
// loopback: `npm start` serves the shipped templates' images from it, pinned by
// digest, and tests use it to exercise real pulls without the internet.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Docker from "dockerode";
import { spawnProcess, type Spawned } from "../test/helpers/processes.ts";

export interface LocalRegistry {
  host: string;
  process: Spawned;
  /** Pushes a local image as `repository:tag` and returns its pinned reference (`host/repository@sha256:…`). */
  push(localImage: string, repository: string, tag: string, options?: { removeLocal?: boolean; auth?: { username: string; password: string } }): Promise<string>;
  /**
   * Drops this engine's names for `repository` in this registry (tags and digests; the registry keeps
   * the images) from every image but `except` (a local image's name): each such name would otherwise
   * keep an image on disk after the image it was pushed from is replaced, a GB for the ML image.
   */
  forgetLocal(repository: string, except?: string): Promise<void>;
  stop(): Promise<void>;
}

const docker = new Docker();

async function follow(stream: NodeJS.ReadableStream): Promise<Array<{ error?: string; aux?: { Digest?: string } }>> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string; aux?: { Digest?: string } }>) => {
      const failed = events?.find((event) => event.error);
      if (error || failed) reject(error ?? new Error(failed!.error));
      else resolve(events);
    }),
  );
}

/**
 * Starts a registry storing into `dir` (kept: a restart serves the same images) on 127.0.0.1:`port`; with `htpasswd`
 * (a file of bcrypt hashes) every request needs one of its users, as a private registry's do.
 */
export async function startRegistry(options: { dir: string; port: number; htpasswd?: string }): Promise<LocalRegistry> {
  await mkdir(options.dir, { recursive: true });
  const config = join(options.dir, "config.yml");
  const auth = options.htpasswd ? `auth:\n  htpasswd:\n    realm: pond-local\n    path: ${options.htpasswd}\n` : "";
  await writeFile(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${options.dir}/data\nhttp:\n  addr: 127.0.0.1:${options.port}\n${auth}`);
  const registry = spawnProcess("docker-registry", ["serve", config], { name: "docker-registry" });
  const host = `127.0.0.1:${options.port}`;
  const deadline = Date.now() + 30_000;
  // One that asks for credentials (401) is up too.
  while (!(await fetch(`http://${host}/v2/`).then((r) => r.ok || r.status === 401).catch(() => false))) {
    if (Date.now() > deadline) {
      await registry.stop();
      throw new Error(`the local registry did not answer on ${host} within 30 s:\n${registry.output().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host,
    process: registry,
    async push(localImage, repository, tag, { removeLocal = false, auth } = {}) {
      const reference = `${host}/${repository}:${tag}`;
      await docker.getImage(localImage).tag({ repo: `${host}/${repository}`, tag });
      // The engine wants an X-Registry-Auth header even for a registry without auth.
      const events = await follow(await docker.getImage(reference).push({ authconfig: { serveraddress: host, ...auth } }));
      const digest = events.map((event) => event.aux?.Digest).find((d) => d !== undefined);
      if (!digest) throw new Error(`pushing ${reference} reported no digest`);
      if (removeLocal) await docker.getImage(reference).remove();
      return `${host}/${repository}@${digest}`;
    },
    async forgetLocal(repository, except) {
      const name = `${host}/${repository}`;
      const kept = except ? (await docker.getImage(except).inspect()).Id : undefined;
      for (const image of await docker.listImages({ filters: { reference: [name] } })) {
        if (image.Id === kept) continue;
        for (const reference of [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((r) => r.startsWith(`${name}:`) || r.startsWith(`${name}@`))) {
          // Only untags where the image has other names (pond-ml/digits:…); one a container still uses stays.
          await docker
            .getImage(reference)
            .remove()
            .catch((error: { statusCode?: number }) => {
              if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
            });
        }
      }
    },
    async stop() {
      await registry.stop();
    },
  };
}

/** A registry in a temporary folder, removed when it stops (for tests). */
export async function startTemporaryRegistry(dir: string, port: number, htpasswd?: string): Promise<LocalRegistry> {
  const registry = await startRegistry({ dir, port, ...(htpasswd ? { htpasswd } : {}) });
  return {
    ...registry,
    async stop() {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
