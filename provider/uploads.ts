// Uploads one output file to the API, signed so only this provider could have
// sent it, and retries what may pass (uploadBatch.ts sends many small ones at once).
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { PrivateKeyAccount } from "viem/accounts";
import { signedHeaders, uploadMessage } from "../protocol/uploads.ts";

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
  await sendUpload({
    url: new URL(`/v1/providers/jobs/${encodeURIComponent(options.jobId)}/outputs/${options.path.split("/").map(encodeURIComponent).join("/")}`, options.api),
    method: "PUT",
    headers: signedHeaders({ provider: options.account.address, timestamp, signature, sha256: options.sha256 }),
    body: Readable.toWeb(createReadStream(options.file)) as ReadableStream,
    size: options.size,
    what: options.path,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** One signed upload request (a file, or a batch: uploadBatch.ts), within uploadTimeoutMs; any answer but 2xx is an UploadError. */
export async function sendUpload(request: { url: URL; method: "PUT" | "POST"; headers: Record<string, string>; body: BodyInit; size: number; what: string; signal?: AbortSignal }): Promise<void> {
  const timeout = AbortSignal.timeout(uploadTimeoutMs(request.size));
  const response = await fetch(request.url, {
    method: request.method,
    headers: { "content-type": "application/octet-stream", "content-length": String(request.size), ...request.headers },
    body: request.body,
    duplex: "half",
    signal: request.signal ? AbortSignal.any([request.signal, timeout]) : timeout,
  } as RequestInit);
  if (!response.ok) throw new UploadError(`uploading ${request.what} failed: HTTP ${response.status} ${(await response.text()).slice(0, 500)}`, response.status);
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
