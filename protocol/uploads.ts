import { z } from "zod";

// A provider proves an output upload is its own by signing (EIP-191) this text.
export interface UploadClaim {
  jobId: string;
  path: string;
  sha256: string;
  size: number;
  timestamp: number;
}

export function uploadMessage(claim: UploadClaim): string {
  return `Pond output upload\njob: ${claim.jobId}\npath: ${claim.path}\nsha256: ${claim.sha256}\nsize: ${claim.size}\ntimestamp: ${claim.timestamp}`;
}

/** An upload signature is good for this long, so a captured request cannot be replayed later. */
export const UPLOAD_SIGNATURE_TTL_MS = 5 * 60 * 1000;

export const uploadHeaders = {
  provider: "x-pond-provider",
  timestamp: "x-pond-timestamp",
  signature: "x-pond-signature",
  sha256: "x-pond-sha256",
} as const;

/** The headers of a signed upload (with the sha256 it claims) or a signed read (without). */
export function signedHeaders(claim: { provider: string; timestamp: number; signature: string; sha256?: string }): Record<string, string> {
  return {
    [uploadHeaders.provider]: claim.provider,
    [uploadHeaders.timestamp]: String(claim.timestamp),
    [uploadHeaders.signature]: claim.signature,
    ...(claim.sha256 !== undefined ? { [uploadHeaders.sha256]: claim.sha256 } : {}),
  };
}

/**
 * Where one output lives in R2. Keyed by content as well as path: a later upload
 * of other bytes under the same path can never replace what the manifest names.
 */
export function outputObjectKey(jobId: string, path: string, sha256: string): string {
  return `${outputsPrefix(jobId)}${sha256}/${path}`;
}

/** Every output R2 keeps of a job is under this prefix. */
export function outputsPrefix(jobId: string): string {
  return `jobs/${jobId}/outputs/`;
}

// ---- the R2 relay of a job's input files ----

/** Everything the relay keeps of a job's inputs is under this prefix. */
export function inputsPrefix(jobId: string): string {
  return `jobs/${jobId}/inputs/`;
}

/** Where the relay keeps a job's input manifest (the transfer manifest the creator uploaded). */
export function inputManifestKey(jobId: string): string {
  return `${inputsPrefix(jobId)}manifest.json`;
}

/** Where the relay keeps one chunk of a job's inputs, keyed by its sha256 (a chunk two files share is stored once). */
export function inputChunkKey(jobId: string, sha256: string): string {
  return `${inputsPrefix(jobId)}chunks/${sha256}`;
}

/**
 * What a provider or mediator reads from the relay: the manifest, one chunk, whether the job's inputs are still
 * needed (a provider keeps them until then), or one input file that is another job's output, by its sha256
 * (`sources/<sha256>`: read from that job's outputs, where outputObjectKey keeps them).
 */
export type RelayObject = "inputs" | `chunks/${string}` | "inputs-needed" | `sources/${string}` | `outputs/${string}` | `checkpoint/${string}`;

/** A mediator's read of one of the challenged job's own outputs, to judge them against its re-run. */
export function outputObject(sha256: string): RelayObject {
  return `outputs/${sha256}`;
}

/** A requeued job's provider reads one file of the job's latest checkpoint (protocol/checkpoint.ts), to resume from it. */
export function checkpointObject(sha256: string): RelayObject {
  return `checkpoint/${sha256}`;
}

/** The read of one input file that comes from another job's outputs. */
export function sourceObject(sha256: string): RelayObject {
  return `sources/${sha256}`;
}

/** The answer to "inputs-needed": false once the job has ended and its settlement is final. */
export const InputsNeeded = z.object({ needed: z.boolean() });
export type InputsNeeded = z.infer<typeof InputsNeeded>;

/** A provider proves a relay read is its own by signing (EIP-191) this text, like an upload. */
export function relayReadMessage(read: { jobId: string; object: RelayObject; timestamp: number }): string {
  return `Pond data read\njob: ${read.jobId}\nobject: ${read.object}\ntimestamp: ${read.timestamp}`;
}

/** Most sha256s one `chunks/missing` call may ask about. */
export const MAX_MISSING_QUERY = 1024;
/** Largest transfer manifest the relay takes: 16 GiB of inputs in 1 MiB chunks lists ~16k chunk hashes (~1.1 MB). */
export const MAX_RELAY_MANIFEST_BYTES = 8 * 1024 * 1024;
