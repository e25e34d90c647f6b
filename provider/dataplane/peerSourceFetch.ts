// A pipeline's inputs from the provider that produced them, peer to peer. That
// provider keeps a succeeded job's outputs for a while (retainedOutputs.ts) and
// serves them to the provider of a later job that takes them as inputs: this side
// meets it in the source job's rendezvous as that job's consumer (the hub lets it
// only for a job of its own whose inputs name the source). Each source job is
// asked once, for the outputs its inputs name, each stored under its input path;
// every chunk and file is checked against the size and sha256 the API resolved
// from the source's signed manifest. What does not come intact this way (the
// source's provider gone or its copy expired, a cut transfer) is left to R2
// (sourceFetch.ts), with nothing of it left in the inputs folder.
import { rm } from "node:fs/promises";
import type { Logger } from "pino";
import { MAX_CONSUMED_OUTPUTS } from "../../protocol/signaling.ts";
import type { TransferFile } from "../../protocol/transfer.ts";
import type { SelectedFile } from "../../p2p/core/manifestExchange.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import { PARTIAL_SUFFIX, STATE_SUFFIX } from "../../p2p/node/fsChunkSink.ts";
import type { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import { pathInside } from "../../p2p/node/storagePath.ts";
import { fromPeer } from "./inputsFetch.ts";
import type { JobSignaling } from "./jobSignaling.ts";
import type { SourceInputFile } from "./sourceFetch.ts";

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
}

export interface PeerSourceFetched {
  /** The files that came, as transfer manifest entries under their input paths. */
  files: TransferFile[];
  bytes: number;
  /** How the most bytes came; undefined when none did. */
  route: Route | undefined;
}

export async function fetchSourcesFromPeers(options: PeerSourceFetchOptions): Promise<PeerSourceFetched> {
  const { log, jobId } = options;
  const fetched: PeerSourceFetched = { files: [], bytes: 0, route: undefined };
  let mostBytes = 0;
  for (const [sourceJob, files] of bySourceJob(options.files)) {
    options.signal?.throwIfAborted();
    const total = files.reduce((sum, file) => sum + file.size, 0);
    const select: SelectedFile[] = files.map((file) => ({ path: file.path, size: file.size, sha256: file.sha256, sourcePath: file.from.output }));
    try {
      const received = await fromPeer({ ...options, files }, "provider", total, { job: sourceJob, forJob: jobId, select });
      fetched.files.push(...received.manifest.files);
      fetched.bytes += received.bytes;
      if (received.bytes >= mostBytes) [mostBytes, fetched.route] = [received.bytes, received.route];
      log.info({ job: jobId, source: sourceJob, route: received.route, bytes: received.bytes }, "inputs received peer to peer from the source job's provider");
    } catch (error) {
      if (options.signal?.aborted) throw error;
      log.info({ job: jobId, source: sourceJob, why: (error as Error).message }, "inputs: no peer-to-peer transfer from the source job's provider; using its outputs in R2");
      await removePartials(options.inputsDir, files);
    }
  }
  return fetched;
}

/**
 * Each source job's files, one per output: an output named by two inputs is fetched once here,
 * and the second input is left to R2 (a sender's file goes to one path per transfer), as are all
 * of a source's when there are more than a consumer may take.
 */
function bySourceJob(files: readonly SourceInputFile[]): Map<string, SourceInputFile[]> {
  const groups = new Map<string, SourceInputFile[]>();
  for (const file of files) {
    const group = groups.get(file.from.job) ?? [];
    if (!group.some((other) => other.from.output === file.from.output)) group.push(file);
    groups.set(file.from.job, group);
  }
  // The hub lets a consumer take at most so many of a source's outputs peer to peer.
  for (const [job, group] of groups) if (group.length > MAX_CONSUMED_OUTPUTS) groups.delete(job);
  return groups;
}

/** What a cut transfer left of these files: the container must never see it, and R2 writes them afresh. */
async function removePartials(inputsDir: string, files: readonly SourceInputFile[]): Promise<void> {
  for (const file of files) {
    const target = pathInside(inputsDir, file.path);
    await Promise.all([rm(target + PARTIAL_SUFFIX, { force: true }), rm(target + STATE_SUFFIX, { force: true })]);
  }
}
