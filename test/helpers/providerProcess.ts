// A real provider daemon process (`npm run provider`), with its own data dir.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { leftoverVolumes, unmountOutputVolume } from "../../provider/executor/outputVolume.ts";
import { removeContainersOf } from "./docker.ts";
import { spawnProcess, type Spawned } from "./processes.ts";
import { tsNode } from "./tsNode.ts";

export interface ProviderProcess {
  address: string;
  dataDir: string;
  process: Spawned;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same key and data (a restart). */
  restart(): Promise<ProviderProcess>;
  /** Kills it and clears all it left: containers, mounted output volumes, its data dir. */
  remove(): Promise<void>;
}

export async function startProvider(api: string, flags: string[] = [], dataDir?: string): Promise<ProviderProcess> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "pond-provider-")));
  const handle = spawnProcess(...tsNode("provider/main.ts", ["--api", api, "--data-dir", dir, "--log-level", "debug", "--registry-allow-addresses", "127.0.0.1", ...flags]), {
    name: "provider",
  });
  const line = await handle.waitFor(/provider address: (0x[0-9a-fA-F]{40})/, 60_000);
  const address = line.split(": ")[1]!.toLowerCase();
  await handle.waitFor(/connected to the hub/, 60_000);
  const provider: ProviderProcess = {
    address,
    dataDir: dir,
    process: handle,
    stop: (signal) => handle.stop(signal),
    restart: () => startProvider(api, flags, dir),
    remove: async () => {
      await handle.stop("SIGKILL");
      await removeContainersOf(address);
      // A killed daemon leaves its jobs' and its spare folders' /outputs mounted: rm cannot remove a mount point.
      for (const workDir of await leftoverVolumes(dir, new Set())) await unmountOutputVolume(workDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return provider;
}
