// Everything the provider advertises about its machine, and what it could not use.
import type Docker from "dockerode";
import type { ProviderResources } from "../../protocol/hubMessages.ts";
import { diagnoseDocker, type DockerDiagnosis } from "./dockerCheck.ts";
import { detectGpus } from "./nvidiaSmi.ts";
import { detectHost } from "./system.ts";

export interface Detection {
  resources: ProviderResources;
  docker: DockerDiagnosis;
  notes: string[];
}

export async function detectResources(docker: Docker, options: { dataDir: string; nvidiaSmi: string; maxCpus?: number; maxMemoryMb?: number }): Promise<Detection> {
  const [host, gpus] = await Promise.all([detectHost(options.dataDir), detectGpus(options.nvidiaSmi)]);
  const found = gpus.kind === "gpus" ? gpus.gpus : [];
  const docker_ = await diagnoseDocker(docker, found.length);
  const notes = [...(gpus.kind === "none" ? [gpus.reason] : []), ...docker_.notes];
  // GPUs Docker cannot hand to containers are not advertised.
  const usable = docker_.nvidiaRuntime ? found : [];
  return {
    resources: {
      cpus: Math.min(host.cpus, options.maxCpus ?? Infinity),
      memory_mb: Math.min(host.memoryMb, options.maxMemoryMb ?? Infinity),
      disk_free_mb: host.diskFreeMb,
      gpus: usable,
    },
    docker: docker_,
    notes,
  };
}
