// How a job's container is locked down. Pure: the Docker create options for a
// spec, so every restriction is visible in one place and unit-tested.
import type { ContainerCreateOptions } from "dockerode";
import { CHECKPOINT_DIR_IN_CONTAINER } from "../../protocol/checkpoint.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";

export const JOB_LABEL = "dev.pond.job";
export const PROVIDER_LABEL = "dev.pond.provider";
/** Unprivileged: the conventional "nobody". */
export const CONTAINER_USER = "65534:65534";

/**
 * Who a job runs as: nobody when the daemon is root, else the daemon's own
 * (unprivileged) user, so it can read and remove whatever the job wrote.
 */
export function containerUserFor(uid: number | undefined, gid: number | undefined): string {
  return uid === undefined || uid === 0 ? CONTAINER_USER : `${uid}:${gid ?? uid}`;
}
export const PIDS_LIMIT = 512;
export const TMP_SIZE_MB = 256;

export interface SandboxInput {
  jobId: string;
  provider: string;
  spec: JobSpec;
  gpuUuids: readonly string[];
  inputsDir: string;
  outputsDir: string;
  /** uid:gid to run as (containerUserFor); nobody when omitted. */
  user?: string;
  /** An egress job's network (egress/jobNetwork.ts): the namespace to join, and the proxy's environment. None when omitted. */
  network?: { mode: string; env: Readonly<Record<string, string>> };
  /** The values of the spec's `secrets`, set like its env (the hub sends them with the job's start). */
  secrets?: Readonly<Record<string, string>>;
  /** The id of the image copy checked for this job (imagePull.ts): what the container is made from; the spec's reference when omitted (a bench's plain run). */
  imageId?: string;
}

/** Shared memory for data loaders (PyTorch wants more than Docker's 64 MiB): half the memory, 64 MiB to 16 GiB. */
export function shmBytes(memoryMb: number): number {
  const mb = Math.min(16 * 1024, Math.max(64, Math.floor(memoryMb / 2)));
  return mb * 1024 * 1024;
}

/**
 * The job's environment. NVIDIA_VISIBLE_DEVICES is always the provider's: where
 * nvidia is Docker's default runtime, it (from the image or the job) would
 * otherwise decide the GPUs, "all" included. The protocol refuses NVIDIA_*
 * from creators; they are dropped here too, and Pond's value comes last.
 * So do Pond's own (`pondEnv`, an egress job's proxy): the job's keys of those names are dropped.
 */
export function containerEnv(env: Readonly<Record<string, string>>, gpuUuids: readonly string[], pondEnv: Readonly<Record<string, string>> = {}): string[] {
  const own = Object.entries(env)
    .filter(([key]) => !/^NVIDIA_/i.test(key) && !Object.hasOwn(pondEnv, key))
    .map(([key, value]) => `${key}=${value}`);
  const pond = Object.entries(pondEnv).map(([key, value]) => `${key}=${value}`);
  return [...own, ...pond, `NVIDIA_VISIBLE_DEVICES=${gpuUuids.length > 0 ? gpuUuids.join(",") : "void"}`];
}

export function containerOptions(input: SandboxInput): ContainerCreateOptions {
  const { spec } = input;
  const memoryBytes = spec.resources.memory_mb * 1024 * 1024;
  return {
    Image: input.imageId ?? spec.image,
    ...(spec.cmd ? { Cmd: [...spec.cmd] } : {}),
    Env: containerEnv({ ...spec.env, ...input.secrets }, input.gpuUuids, { ...(spec.checkpoint ? { POND_CHECKPOINT_DIR: CHECKPOINT_DIR_IN_CONTAINER } : {}), ...input.network?.env }),
    User: input.user ?? CONTAINER_USER,
    Labels: { [JOB_LABEL]: input.jobId, [PROVIDER_LABEL]: input.provider },
    // Docker gives a container with networking disabled a namespace of its own, whatever its NetworkMode: so only without one.
    NetworkDisabled: input.network === undefined,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      // An egress job's is a holder's namespace with loopback only, like "none" (egress/jobNetwork.ts).
      NetworkMode: input.network?.mode ?? "none",
      ReadonlyRootfs: true,
      // mode=1777: writable by the unprivileged user, as /tmp is on any Linux.
      Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${TMP_SIZE_MB}m,mode=1777` },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges:true"],
      PidsLimit: PIDS_LIMIT,
      Memory: memoryBytes,
      // Equal to Memory: no swap, so the memory limit is the real limit.
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(spec.resources.cpus * 1e9),
      ShmSize: shmBytes(spec.resources.memory_mb),
      Init: true,
      Binds: [`${input.inputsDir}:/inputs:ro`, `${input.outputsDir}:/outputs:rw`],
      // Specific devices, never "all": two jobs on one host never share a GPU.
      DeviceRequests:
        input.gpuUuids.length > 0 ? [{ Driver: "nvidia", DeviceIDs: [...input.gpuUuids], Capabilities: [["gpu"]] }] : [],
      LogConfig: { Type: "json-file", Config: { "max-size": "20m", "max-file": "1" } },
    },
  };
}
