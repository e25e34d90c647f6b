// Is the Docker engine there, and can it hand GPUs to containers? Answers say
// exactly what is missing and the command that fixes it.
import type Docker from "dockerode";

export interface DockerDiagnosis {
  reachable: boolean;
  engine?: string;
  nvidiaRuntime: boolean;
  problems: string[];
  /** Worth knowing, nothing to fix. */
  notes: string[];
}

export function describeEngine(docker: Docker): string {
  const modem = docker.modem as { socketPath?: unknown; host?: string; port?: number | string; protocol?: string };
  if (typeof modem.socketPath === "string") return `unix://${modem.socketPath}`;
  if (modem.host) return `${modem.protocol ?? "http"}://${modem.host}:${modem.port}`;
  // docker-modem resolves the default socket lazily: name it as the docker CLI would.
  return process.env.DOCKER_HOST ?? "the default Docker socket";
}

export async function diagnoseDocker(docker: Docker, gpuCount: number): Promise<DockerDiagnosis> {
  const where = describeEngine(docker);
  try {
    await docker.ping();
  } catch (error) {
    return {
      reachable: false,
      nvidiaRuntime: false,
      notes: [],
      problems: [
        `cannot reach the Docker engine at ${where} (${(error as Error).message}). Start Docker (e.g. \`sudo systemctl start docker\`), or set DOCKER_HOST to where it listens.`,
      ],
    };
  }
  const info = (await docker.info()) as { ServerVersion?: string; Runtimes?: Record<string, unknown>; DefaultRuntime?: string };
  const nvidiaRuntime = Object.keys(info.Runtimes ?? {}).some((name) => name.includes("nvidia"));
  const problems: string[] = [];
  if (gpuCount > 0 && !nvidiaRuntime) {
    problems.push(
      `this host has ${gpuCount} NVIDIA GPU(s) but Docker has no nvidia runtime, so containers cannot use them. Install the NVIDIA Container Toolkit, then run \`sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker\`. Until then this provider offers CPUs only.`,
    );
  }
  const notes: string[] = [];
  if (info.DefaultRuntime === "nvidia") {
    notes.push(
      "nvidia is Docker's default runtime: any container on this host sees the GPUs its NVIDIA_VISIBLE_DEVICES names (often all of them). Pond sets it for every job to the job's own GPUs, or none; containers started outside Pond are not covered.",
    );
  }
  return { reachable: true, engine: `Docker ${info.ServerVersion ?? "?"} at ${where}`, nvidiaRuntime, problems, notes };
}
