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

/**
 * Where one output lives in R2. Keyed by content as well as path: a later upload
 * of other bytes under the same path can never replace what the manifest names.
 */
export function outputObjectKey(jobId: string, path: string, sha256: string): string {
  return `jobs/${jobId}/outputs/${sha256}/${path}`;
}
