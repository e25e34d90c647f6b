// A real Docker registry (Debian's docker-registry, i.e. distribution) on
// loopback, so image pulls are tested for real without the internet.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { docker } from "./docker.ts";
import { freePort } from "./freePort.ts";
import { spawnProcess } from "./processes.ts";

export interface LocalRegistry {
  host: string;
  /** Pushes a local image under `repository:tag` and removes the local copy, so a provider must pull it. */
  publish(localImage: string, repository: string, tag: string): Promise<string>;
  stop(): Promise<void>;
}

async function follow(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
      const failed = events?.find((event) => event.error);
      if (error || failed) reject(error ?? new Error(failed!.error));
      else resolve();
    }),
  );
}

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "pond-registry-"));
  const port = await freePort();
  const config = join(dir, "config.yml");
  await writeFile(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const registry = spawnProcess("docker-registry", ["serve", config], { name: "docker-registry" });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://${host}/v2/`).then((r) => r.ok).catch(() => false)) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host,
    async publish(localImage, repository, tag) {
      const reference = `${host}/${repository}:${tag}`;
      await docker.getImage(localImage).tag({ repo: `${host}/${repository}`, tag });
      // The engine wants an X-Registry-Auth header even for a registry without auth.
      await follow(await docker.getImage(reference).push({ authconfig: { serveraddress: host } }));
      await docker.getImage(reference).remove();
      return reference;
    },
    async stop() {
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
