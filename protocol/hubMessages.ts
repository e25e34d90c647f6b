// Messages between a provider daemon and its hub Durable Object, over one
// WebSocket. JSON, each with `type` and protocol version `v`; parsed with these
// schemas on both ends. Heartbeats are the bare strings "ping"/"pong", answered
// by the hub's auto-response without waking it.
import { z } from "zod";
import { CheckpointFiles, CheckpointSet, SavedCheckpoint } from "./checkpoint.ts";
import { EgressUsage } from "./egress.ts";
import { JobGpuUsage } from "./gpuUsage.ts";
import { IceServer } from "./iceServers.ts";
import { InlineOutputs } from "./inlineOutputs.ts";
import { JobSpec, SecretValues } from "./jobSpec.ts";
import { RegistryPassword } from "./registryAuth.ts";
import { hubMessageLimits as M, logLimits } from "./limits.ts";
import { OutputManifest, Sha256Hex } from "./manifest.ts";
import { ClientSignal, ServerSignal } from "./signaling.ts";
import { ImageArrival, TransferDirection, TransferMeasure } from "./transferMetrics.ts";
import { weiString } from "./wei.ts";

export const HUB_PROTOCOL_VERSION = 1;
export const HEARTBEAT_PING = "ping";
export const HEARTBEAT_PONG = "pong";

const v = z.literal(HUB_PROTOCOL_VERSION);
const hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const addressHex = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
/**
 * A job id as the Worker makes them (`job_` + Crockford base32, worker/security/randomToken.ts).
 * The provider names directories after it, so nothing else (no `/`, no `.`) may pass.
 */
export const JobId = z.string().max(64).regex(/^[a-z]+_[0-9a-z]{1,60}$/, "must be a Pond job id such as job_3k9x…");
/** A job's bytes32 id on chain; either case is accepted and normalised to lower case. */
const chainJobId = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be a 0x-prefixed 32-byte hex string")
  .transform((value) => value.toLowerCase());

/** The text a provider signs (EIP-191) to prove its address to the hub. */
export function providerLoginMessage(nonce: string): string {
  return `Pond provider login\nnonce: ${nonce}`;
}

export const GpuInfo = z.object({
  index: z.int().min(0),
  uuid: z.string().min(1).max(128),
  model: z.string().min(1).max(128),
  vram_mb: z.int().min(0),
  driver: z.string().max(64).optional(),
});
export type GpuInfo = z.infer<typeof GpuInfo>;

export const ProviderResources = z.object({
  cpus: z.number().positive(),
  memory_mb: z.int().positive(),
  disk_free_mb: z.int().min(0),
  gpus: z.array(GpuInfo).max(64),
  /** Takes jobs that may reach hosts on their allowlist through the daemon's egress proxy (`--egress`). */
  egress: z.boolean().optional(),
});
export type ProviderResources = z.infer<typeof ProviderResources>;

export const ProviderPricing = z.object({
  gpu_second_wei: weiString,
  cpu_second_wei: weiString,
});
export type ProviderPricing = z.infer<typeof ProviderPricing>;

/** How much of what a provider holds warm it may advertise: bounded, so a hub's and a matchmaker's work per provider is too. */
export const warmLimits = { images: 64, inputs: 256 } as const;

/**
 * What a provider holds warm, so the matcher can send a job where its bytes already are: image
 * digests in its engine (with their sizes) and the sha256 of input files in its cache, most recently used first.
 */
export const WarmSet = z.object({
  images: z.array(z.object({ digest: z.string().regex(/^sha256:[0-9a-f]{64}$/, "must be an image digest such as sha256:…"), bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER) })).max(warmLimits.images),
  inputs: z.array(Sha256Hex).max(warmLimits.inputs),
});
export type WarmSet = z.infer<typeof WarmSet>;

// ---- provider → hub ----

export const AuthMessage = z.object({ v, type: z.literal("auth"), address: addressHex, signature: hex });
export const AdvertiseMessage = z.object({
  v,
  type: z.literal("advertise"),
  resources: ProviderResources,
  pricing: ProviderPricing,
  /** Jobs the daemon is still running (after a reconnect). */
  running: z.array(JobId).max(1024),
  agent: z.string().max(128).optional(),
  warm: WarmSet.optional(),
});
/** What the provider holds warm changed since it advertised (an image pulled, an input cached or evicted). */
export const WarmMessage = z.object({ v, type: z.literal("warm"), warm: WarmSet });
export const AcceptMessage = z.object({ v, type: z.literal("job.accept"), job_id: JobId, signature: hex });
export const DeclineMessage = z.object({
  v,
  type: z.literal("job.decline"),
  job_id: JobId,
  reason: z.string().max(M.declineReason),
  /** Declined for now, not for good (its room still in use, a drain, a failed accept): the provider is offered nothing for a while, then may be offered this job again. */
  busy: z.boolean().optional(),
});
export const StatusMessage = z.object({
  v,
  type: z.literal("job.status"),
  job_id: JobId,
  phase: z.enum(["pulling", "running"]),
  detail: z.string().max(M.statusDetail).optional(),
});
export const LogMessage = z.object({ v, type: z.literal("job.log"), job_id: JobId, data: z.string().max(logLimits.messageChars) });
export const ResultMessage = z.object({
  v,
  type: z.literal("job.result"),
  job_id: JobId,
  outcome: z.enum(["succeeded", "failed", "timed_out", "canceled"]),
  exit_code: z.int().nullable(),
  error: z.string().max(M.resultError).nullable(),
  /** Present when the outcome is succeeded: every file hashed and signed, and uploaded unless it is inline. */
  manifest: OutputManifest.nullable(),
  /** The manifest's smallest files' bytes (protocol/inlineOutputs.ts): not uploaded; the hub stores them. */
  inline_outputs: InlineOutputs.optional(),
  amount_wei: weiString,
  signature: hex.nullable(),
  metrics: z
    .object({
      pull_ms: z.number().min(0),
      /** How long the container ran, from its engine's start and finish times. */
      run_ms: z.number().min(0),
      /** How the input files reached the provider, when the job had any. */
      inputs_transfer: TransferMeasure.optional(),
      /** Whether the job's image was already in the provider's engine. */
      image: ImageArrival.optional(),
      /** What its network egress moved, per host, when its spec allowed any. */
      egress: EgressUsage.optional(),
      /** What the job's GPUs did, sampled while it ran, when it had any. */
      gpu: JobGpuUsage.optional(),
    })
    .optional(),
  /** Worth telling the creator whatever the outcome (e.g. a process killed for memory in a job that exited 0). */
  warning: z.string().max(M.resultWarning).optional(),
});

const Bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/);
/** A mediator's answer for an exact job: its own re-run's result hash, signed (EIP-712 Mediation). */
export const MediationMessage = z.object({ v, type: z.literal("job.mediation"), job_id: JobId, result_hash: Bytes32, signature: hex });
export type MediationMessage = z.infer<typeof MediationMessage>;
/**
 * A mediator's answer for a tolerant job (protocol/verification.ts): whether the provider's outputs
 * agree with its re-run's under the declared comparison, signed (EIP-712 Verdict over the
 * provider's result hash and the re-run's). `detail` says why, for the job's record.
 */
export const VerdictMessage = z.object({
  v,
  type: z.literal("job.verdict"),
  job_id: JobId,
  rerun_hash: Bytes32,
  upheld: z.boolean(),
  detail: z.string().max(M.statusDetail),
  signature: hex,
});
export type VerdictMessage = z.infer<typeof VerdictMessage>;

/**
 * WebRTC signaling for a job's data (protocol/signaling.ts), carried on the hub socket the provider already has.
 * `for_job`: this provider's own job whose inputs are `job_id`'s outputs; it signals as that job's consumer (consumerRole).
 */
export const SignalMessage = z.object({ v, type: z.literal("signal"), job_id: JobId, signal: ClientSignal, for_job: JobId.optional() });
/** A transfer of a job's files this provider took part in (an outputs download it served), for the job's metrics. */
export const TransferReportMessage = z.object({ v, type: z.literal("job.transfer"), job_id: JobId, direction: TransferDirection, transfer: TransferMeasure });
export type TransferReportMessage = z.infer<typeof TransferReportMessage>;
/** The job's checkpoint as its provider found it in /outputs/checkpoint, every file uploaded first (protocol/checkpoint.ts). */
export const CheckpointMessage = z.object({ v, type: z.literal("job.checkpoint"), job_id: JobId, files: CheckpointFiles });
export type CheckpointMessage = z.infer<typeof CheckpointMessage>;
/** Asks for STUN/TURN servers with fresh credentials, before a transfer. */
export const IceRequestMessage = z.object({ v, type: z.literal("ice.request") });

export const ProviderMessage = z.discriminatedUnion("type", [
  AuthMessage,
  AdvertiseMessage,
  WarmMessage,
  AcceptMessage,
  DeclineMessage,
  StatusMessage,
  LogMessage,
  ResultMessage,
  MediationMessage,
  VerdictMessage,
  SignalMessage,
  IceRequestMessage,
  TransferReportMessage,
  CheckpointMessage,
]);
export type ProviderMessage = z.infer<typeof ProviderMessage>;
export type ResultMessage = z.infer<typeof ResultMessage>;

// ---- hub → provider ----

export const HelloMessage = z.object({ v, type: z.literal("hello"), nonce: z.string().min(16) });
export const WelcomeMessage = z.object({
  v,
  type: z.literal("welcome"),
  address: addressHex,
  /** The EIP-712 domain results and acceptances are signed under. */
  chain_id: z.int(),
  verifying_contract: addressHex,
  heartbeat_ms: z.int().positive(),
  /** How long the hub keeps a vanished provider's jobs: its containers' watchdogs stop them after that. */
  grace_ms: z.int().positive().optional(),
  /** The hub takes a result's smallest outputs inline (protocol/inlineOutputs.ts); without it, every output is uploaded. */
  inline_outputs: z.boolean().optional(),
});
export const OfferMessage = z.object({
  v,
  type: z.literal("job.offer"),
  job_id: JobId,
  chain_job_id: chainJobId,
  spec: JobSpec,
  gpu_uuids: z
    .array(z.string().min(1).max(128))
    .max(64)
    .refine((uuids) => new Set(uuids).size === uuids.length, "must not name a GPU twice"),
  rate_wei_per_second: weiString,
  max_amount_wei: weiString,
  expires_at: z.int(),
  /** A requeued job's latest checkpoint (spec.checkpoint): put back in /outputs/checkpoint before it starts. */
  checkpoint: SavedCheckpoint.optional(),
});
/**
 * Asks a drawn mediator to re-run a challenged job; `outputs` is the provider's signed manifest, which a tolerant job's
 * re-run is compared with, `secrets` the values of the spec's secrets, which the re-run needs as the first run did, and
 * `checkpoint` the one the challenged attempt resumed from.
 */
export const MediateMessage = z.object({
  v,
  type: z.literal("job.mediate"),
  job_id: JobId,
  chain_job_id: chainJobId,
  spec: JobSpec,
  outputs: OutputManifest,
  secrets: SecretValues.optional(),
  /** The password for the spec's registry_auth: the re-run pulls the image as the first run did. */
  registry_password: RegistryPassword.optional(),
  /** The checkpoint the challenged attempt resumed from (spec.checkpoint): the re-run starts from it too. */
  checkpoint: CheckpointSet.optional(),
});
export type MediateMessage = z.infer<typeof MediateMessage>;

export const CancelMessage = z.object({ v, type: z.literal("job.cancel"), job_id: JobId, reason: z.string() });
/**
 * The accepted job may start; `secrets` carries the values of its spec's secrets and `registry_password` the password for
 * its registry_auth, sent to this provider alone and only now.
 */
export const StartMessage = z.object({ v, type: z.literal("job.start"), job_id: JobId, secrets: SecretValues.optional(), registry_password: RegistryPassword.optional() });
export type StartMessage = z.infer<typeof StartMessage>;
export const ResultAckMessage = z.object({
  v,
  type: z.literal("job.result.ack"),
  job_id: JobId,
  accepted: z.boolean(),
  error: z.string().optional(),
});
export const ErrorMessage = z.object({ v, type: z.literal("error"), code: z.string(), message: z.string() });

/** A signal for this provider in one of its jobs' rendezvous, stamped with its sender (or an error about one it sent). */
export const SignalDeliveryMessage = z.object({ v, type: z.literal("signal"), job_id: JobId, signal: ServerSignal });
export const IceServersMessage = z.object({ v, type: z.literal("ice.servers"), ice_servers: z.array(IceServer).max(16), expires_at: z.int() });

export const HubMessage = z.discriminatedUnion("type", [
  HelloMessage,
  WelcomeMessage,
  OfferMessage,
  MediateMessage,
  CancelMessage,
  StartMessage,
  ResultAckMessage,
  ErrorMessage,
  SignalDeliveryMessage,
  IceServersMessage,
]);
export type HubMessage = z.infer<typeof HubMessage>;
export type OfferMessage = z.infer<typeof OfferMessage>;

/** Parses one frame; a malformed frame is an error value, never an exception. */
export function parseFrame<T extends z.ZodType>(schema: T, raw: string): { ok: true; message: z.infer<T> } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, error: "the frame is not JSON" };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(frame)"}: ${i.message}`).join("; ");
    return { ok: false, error: `the frame does not match protocol v${HUB_PROTOCOL_VERSION}: ${issues}` };
  }
  return { ok: true, message: result.data };
}
