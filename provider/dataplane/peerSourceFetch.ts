// A pipeline's inputs from the provider that produced them, peer to peer. That
// provider keeps a succeeded job's outputs for a while (retainedOutputs.ts) and
// serves them to the provider of a later job that takes them as inputs: this side
// meets it in the source job's rendezvous as that job's consumer (the hub lets it
// only for a job of its own whose inputs name the source, and stamps its offers
// with the outputs that job takes). The source jobs are asked side by side, each
// once, for the outputs its inputs name; every chunk and file is checked against
// the size and sha256 the API resolved from the source's signed manifest. Files
// arrive in a staging folder beside the inputs (never seen by the container, even
// after a crash) and take their input paths only once a source's transfer is whole.
// What does not come intact, or in time (the source's provider gone or its copy
// expired, a cut or crawling transfer), is left to R2 (sourceFetch.ts).
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { MAX_CONSUMED_OUTPUTS } from "../../protocol/signaling.ts";
import type { TransferFile } from "../../protocol/transfer.ts";
import type { SelectedFile } from "../../p2p/core/manifestExchange.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import type { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import { pathInside } from "../../p2p/node/storagePath.ts";
import { fromPeer } from "./inputsFetch.ts";
import type { JobSignaling } from "./jobSignaling.ts";
import type { SourceInputFile } from "./sourceFetch.ts";

/** A source's provider that sends slower than this on average (after a grace for connecting) is left for R2. */
const MIN_BYTES_PER_S = 4 * 1024 * 1024;
const GRACE_MS = 60_000;

export interface PeerSourceFetchOptions {
  /** The job whose inputs these are. */
  jobId: string;
  files: readonly SourceInputFile[];
  inputsDir: string;
  signaling: JobSignaling;
  connectTimeoutMs: number;
  bindAddress?: string;
  processes?: SpareTransferProcesses;
  log: Logger;
  signal?: AbortSignal;
  onDetail(detail: string): void;
  /** The longest one source's transfer may take; by default its deadline (deadlineFor). */
  deadlineMs?: number;
}

/** A source's transfer gets the connect timeout and a grace, then must average MIN_BYTES_PER_S. */
export function deadlineFor(connectTimeoutMs: number, totalBytes: number): number {
  return connectTimeoutMs + GRACE_MS + Math.ceil((totalBytes / MIN_BYTES_PER_S) * 1000);
}

export interface PeerSourceFetched {
  /** The files that came, as transfer manifest entries under their input paths. */
  files: TransferFile[];
  /** Bytes that moved peer to peer. */
  bytes: number;
  /** How the most bytes came; undefined when none moved. */
  route: Route | undefined;
}

export async function fetchSourcesFromPeers(options: PeerSourceFetchOptions): Promise<PeerSourceFetched> {
  const wanted = await notInPlace(options.inputsDir, options.files);
  const results = await Promise.all([...bySourceJob(wanted)].map(([sourceJob, files]) => fromSourceProvider(options, sourceJob, files)));
  const fetched: PeerSourceFetched = { files: [], bytes: 0, route: undefined };
  let mostBytes = 0;
  for (const result of results) {
    if (!result) continue;
    fetched.files.push(...result.files);
    fetched.bytes += result.bytes;
    if (result.bytes > mostBytes) [mostBytes, fetched.route] = [result.bytes, result.route];
  }
  fetched.files.push(...(await copiesOfDuplicates(options.inputsDir, wanted, fetched.files)));
  return fetched;
}

/** One source job's files from its provider, in place under their input paths; undefined when they did not all come. */
async function fromSourceProvider(options: PeerSourceFetchOptions, sourceJob: string, files: SourceInputFile[]): Promise<PeerSourceFetched | undefined> {
  const { log, jobId, inputsDir } = options;
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const select: SelectedFile[] = files.map((file) => ({ path: file.path, size: file.size, sha256: file.sha256, sourcePath: file.from.output }));
  const staging = join(dirname(inputsDir), "inputs-peer", sourceJob);
  const deadline = AbortSignal.timeout(options.deadlineMs ?? deadlineFor(options.connectTimeoutMs, total));
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  try {
    const received = await fromPeer({ ...options, files, inputsDir: staging, signal }, "provider", total, { job: sourceJob, forJob: jobId, select });
    for (const file of received.manifest.files) {
      const target = pathInside(inputsDir, file.path);
      await mkdir(dirname(target), { recursive: true });
      await rename(pathInside(staging, file.path), target);
    }
    log.info({ job: jobId, source: sourceJob, route: received.route, bytes: received.bytes }, "inputs received peer to peer from the source job's provider");
    return { files: received.manifest.files, bytes: received.bytes, route: received.route };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const why = deadline.aborted ? `slower than ${MIN_BYTES_PER_S / 1024 / 1024} MiB/s` : (error as Error).message;
    log.info({ job: jobId, source: sourceJob, why }, "inputs: no peer-to-peer transfer from the source job's provider; using its outputs in R2");
    return undefined;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Files the input cache has not put in place already (those the R2 pass checks where they are, moving nothing). */
async function notInPlace(inputsDir: string, files: readonly SourceInputFile[]): Promise<SourceInputFile[]> {
  const present = await Promise.all(files.map(async (file) => (await stat(pathInside(inputsDir, file.path)).catch(() => undefined))?.size === file.size));
  return files.filter((_, i) => !present[i]);
}

/**
 * Each source job's files, one per output (an output two inputs name comes once, then is copied:
 * copiesOfDuplicates), none of a source's when there are more than a consumer may take.
 */
function bySourceJob(files: readonly SourceInputFile[]): Map<string, SourceInputFile[]> {
  const groups = new Map<string, SourceInputFile[]>();
  for (const file of files) {
    const group = groups.get(file.from.job) ?? [];
    if (!group.some((other) => other.from.output === file.from.output)) group.push(file);
    groups.set(file.from.job, group);
  }
  for (const [job, group] of groups) if (group.length > MAX_CONSUMED_OUTPUTS) groups.delete(job);
  return groups;
}

/** The inputs that name an output already fetched under another input's path: copied from it (it was checked). */
async function copiesOfDuplicates(inputsDir: string, wanted: readonly SourceInputFile[], fetched: readonly TransferFile[]): Promise<TransferFile[]> {
  const byPath = new Map(fetched.map((file) => [file.path, file]));
  const copies: TransferFile[] = [];
  for (const file of wanted) {
    if (byPath.has(file.path)) continue;
    const twin = fetched.find((other) => other.sha256 === file.sha256 && other.size === file.size);
    if (!twin) continue;
    const target = pathInside(inputsDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(pathInside(inputsDir, twin.path), target);
    copies.push({ ...twin, path: file.path });
  }
  return copies;
}
