// Uploads one output file to the API, signed so only this provider could have
// sent it, and retries what may pass (uploadBatch.ts sends many small ones at once).
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { PrivateKeyAccount } from "viem/accounts";
import { uploadHeaders, uploadMessage } from "../protocol/uploads.ts";

export class UploadError extends Error {
  override name = "UploadError";
  constructor(
    message: string,
    /** The HTTP status the API answered with. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** Time for one upload: 30 s, plus a second per MiB (the slowest link a provider should have). */
export function uploadTimeoutMs(size: number): number {
  return 30_000 + Math.ceil(size / (1024 * 1024)) * 1_000;
}

/**
 * Whether trying again could help: the network failed or timed out, or the API
 * was overloaded or broken (429, 5xx). Any other answer (a bad signature, a
 * path the job does not have) will be the same next time.
 */
export function isRetryableUpload(error: unknown): boolean {
  if (error instanceof UploadError) return error.status === 429 || error.status >= 500;
  return true;
}

export async function uploadOutput(options: {
  api: string;
  account: PrivateKeyAccount;
  jobId: string;
  path: string;
  file: string;
  sha256: string;
  size: number;
  /** Gives up on it (others of the job's uploads failed for good). */
  signal?: AbortSignal;
}): Promise<void> {
  const timestamp = Date.now();
  const signature = await options.account.signMessage({
    message: uploadMessage({ jobId: options.jobId, path: options.path, sha256: options.sha256, size: options.size, timestamp }),
  });
  const url = new URL(`/v1/providers/jobs/${encodeURIComponent(options.jobId)}/outputs/${options.path.split("/").map(encodeURIComponent).join("/")}`, options.api);
  const response = await fetch(url, {
    method: "PUT",
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(options.size),
      [uploadHeaders.provider]: options.account.address,
      [uploadHeaders.timestamp]: String(timestamp),
      [uploadHeaders.signature]: signature,
      [uploadHeaders.sha256]: options.sha256,
    },
    body: Readable.toWeb(createReadStream(options.file)) as ReadableStream,
    duplex: "half",
    signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(uploadTimeoutMs(options.size))]) : AbortSignal.timeout(uploadTimeoutMs(options.size)),
  } as RequestInit);
  if (!response.ok) throw new UploadError(`uploading ${options.path} failed: HTTP ${response.status} ${(await response.text()).slice(0, 500)}`, response.status);
}

/**
 * How long a provider keeps trying an upload through failures that may pass: the
 * API restarting or being deployed takes longer than a flicker, and giving up
 * fails a job that did succeed and throws its outputs away.
 */
export const UPLOAD_RETRY_WINDOW_MS = 10 * 60_000;
const MAX_PAUSE_MS = 15_000;

export type RetryWindow = { windowMs?: number; firstPauseMs?: number };

/** Retries a failed upload with growing pauses (from `firstPauseMs`, at most 15 s) until `windowMs` has passed. */
export function uploadOutputWithRetry(options: Parameters<typeof uploadOutput>[0], retry: RetryWindow = {}): Promise<void> {
  return withUploadRetry(() => uploadOutput(options), options.signal, retry);
}

/** `upload` tried until it succeeds, fails for good (isRetryableUpload), `signal` aborts, or the window has passed. */
export async function withUploadRetry(upload: () => Promise<void>, signal: AbortSignal | undefined, { windowMs = UPLOAD_RETRY_WINDOW_MS, firstPauseMs = 500 }: RetryWindow = {}): Promise<void> {
  const giveUpAt = Date.now() + windowMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await upload();
    } catch (error) {
      const pause = Math.min(MAX_PAUSE_MS, firstPauseMs * 2 ** (attempt - 1));
      if (!isRetryableUpload(error) || signal?.aborted || Date.now() + pause > giveUpAt) throw error;
      await abortablePause(pause, signal);
    }
  }
}

function abortablePause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
