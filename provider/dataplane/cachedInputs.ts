// The input cache in front of a job's fetch: what the cache holds is linked into
// the job's inputs folder first; only the rest is fetched (the fetch finds the
// cached files already complete and asks for none of their bytes, unless their
// bytes are wrong), and what it verified is kept for the next job. A job whose
// every file was cached moves no bytes: route "cache". The cache never fails a
// job: what it cannot do, it logs and leaves to the fetch.
import { TRANSFER_PROTOCOL_VERSION, type TransferManifest } from "../../protocol/transfer.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import type { InputCache } from "./inputCache.ts";

/** A file as a job names it, known by its bytes (size and sha256). */
export interface PinnedInput {
  path: string;
  size: number;
  sha256: string;
}

export interface CachedFetch {
  measure: TransferMeasure;
  /** Every file's transfer manifest entry: what serves the inputs to a mediator. */
  manifest: TransferManifest;
}

export async function fetchThroughCache(
  cache: InputCache | undefined,
  files: readonly PinnedInput[],
  inputsDir: string,
  fetch: () => Promise<CachedFetch>,
): Promise<CachedFetch> {
  const started = performance.now();
  const placed = cache ? await cache.place(files, inputsDir) : { files: [], bytes: 0 };
  if (files.length > 0 && placed.files.length === files.length) {
    return { measure: { route: "cache", bytes: 0, ms: Math.round(performance.now() - started), cached_bytes: placed.bytes }, manifest: { v: TRANSFER_PROTOCOL_VERSION, files: placed.files } };
  }
  const fetched = await fetch();
  if (cache) {
    // A placed file the fetch found wrong (and wrote anew) is dropped; its fetched copy is then kept
    // with the rest. The placed files still cached are skipped by keep.
    await cache.dropRewritten(placed.files, inputsDir);
    await cache.keep(fetched.manifest.files, inputsDir);
  }
  return placed.bytes > 0 ? { ...fetched, measure: { ...fetched.measure, cached_bytes: placed.bytes } } : fetched;
}
