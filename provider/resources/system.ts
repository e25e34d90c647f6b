// CPU, memory and free disk of the host.
import { statfs } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";

export interface HostResources {
  cpus: number;
  memoryMb: number;
  diskFreeMb: number;
}

export async function detectHost(dataDir: string): Promise<HostResources> {
  const disk = await statfs(dataDir);
  return {
    cpus: availableParallelism(),
    memoryMb: Math.floor(totalmem() / 1024 / 1024),
    diskFreeMb: Math.floor((disk.bavail * disk.bsize) / 1024 / 1024),
  };
}
