// `--output DIR` and `pond jobs download`: a finished job's outputs, peer to
// peer from its provider first (while it keeps them), else from R2, and each
// file checked against the job's signed manifest either way. A download from R2
// is reported for the job's metrics.transfer (the provider reports its own).
import { mkdir, rm } from "node:fs/promises";
import type { Job } from "../../protocol/job.ts";
import type { IceServer } from "../../protocol/iceServers.ts";
import type { ManifestFile } from "../../protocol/manifest.ts";
import type { TransferMeasure } from "../../protocol/transferMetrics.ts";
import { PARTIAL_SUFFIX, STATE_SUFFIX } from "../../p2p/node/fsChunkSink.ts";
import type { PondClient } from "../../sdk/index.ts";
import type { P2pSettings } from "../context.ts";
import { downloadOutputs, isVerifiedCopy, outputPathIn } from "../outputs.ts";
import type { Progress } from "../progress.ts";
import { SpareTransferProcesses } from "../../p2p/node/isolated/transferProcesses.ts";
import { downloadFromProvider } from "./peerDownload.ts";
import { SignalingSocket } from "./signalingSocket.ts";

export interface OutputsDownload {
  files: ManifestFile[];
  /** How they came; null when there was nothing to fetch. */
  transfer: (TransferMeasure & { firstByteMs?: number }) | null;
}

/**
 * Made while the job still runs, so the download starts the moment it ends: signaling joined,
 * ICE servers fetched, and the transfer process started (loading it is most of the wait otherwise).
 */
export interface WarmSignaling {
  socket: SignalingSocket;
  iceServers: IceServer[];
  processes: SpareTransferProcesses;
  /** Leaves the signaling and ends the transfer process if no download took it. */
  close(): void;
}

/** `processes`: started by the caller earlier still (before the job was created); else started here. */
export async function warmUp(sdk: PondClient, p2p: P2pSettings, jobId: string, processes = new SpareTransferProcesses({ refill: false })): Promise<WarmSignaling | undefined> {
  if (!p2p.enabled || !sdk.apiKey) {
    processes.close();
    return undefined;
  }
  try {
    const ice = await sdk.data.iceServers().catch(() => ({ ice_servers: [] }));
    const socket = await SignalingSocket.open(sdk.baseUrl, sdk.apiKey, jobId);
    // Frames from before the download (the inputs' session) are not for it: nobody keeps them.
    socket.subscribe(() => {});
    return {
      socket,
      iceServers: ice.ice_servers,
      processes,
      close() {
        socket.close();
        processes.close();
      },
    };
  } catch {
    processes.close();
    return undefined;
  }
}

export async function fetchOutputs(sdk: PondClient, p2p: P2pSettings, job: Job, dir: string, progress: Progress, note: (text: string) => void, warm?: WarmSignaling): Promise<OutputsDownload> {
  const files = job.output?.files ?? [];
  if (files.length === 0) return { files: await downloadOutputs(sdk, job, dir, progress), transfer: null };
  await mkdir(dir, { recursive: true });
  const total = files.reduce((sum, file) => sum + file.size, 0);
  const label = `downloading ${job.id}`;
  if (p2p.enabled && sdk.apiKey) {
    let ready: WarmSignaling | undefined;
    try {
      ready = warm?.socket.open ? warm : await warmUp(sdk, p2p, job.id);
      if (!ready) throw new Error("could not join the job's signaling");
      const direct = await downloadFromProvider({
        socket: ready.socket,
        jobId: job.id,
        files,
        dir,
        iceServers: ready.iceServers,
        process: ready.processes.take(),
        connectTimeoutMs: p2p.connectTimeoutMs,
        ...(p2p.bindAddress ? { bindAddress: p2p.bindAddress } : {}),
        onProgress: (done) => progress.update(label, done, total),
      });
      progress.finish(label);
      const endedAt = job.completed_at ? Date.parse(job.completed_at) : undefined;
      const firstByteMs = direct.firstByteAt !== undefined && endedAt !== undefined ? direct.firstByteAt - endedAt : undefined;
      return { files, transfer: { route: direct.route, bytes: direct.bytes, ms: Math.round(direct.ms), ...(firstByteMs !== undefined ? { firstByteMs } : {}) } };
    } catch (error) {
      note(`[pond: outputs peer to peer: ${(error as Error).message}; downloading from R2]`);
    } finally {
      ready?.close();
    }
  }
  await clearPartials(dir, files);
  const started = performance.now();
  const before = await bytesAlreadyHere(dir, files);
  await downloadOutputs(sdk, job, dir, progress);
  const measure: TransferMeasure = { route: "relay", bytes: total - before, ms: Math.round(performance.now() - started) };
  await sdk.data.reportOutputsDownload(job.id, { bytes: measure.bytes, ms: measure.ms }).catch((error: unknown) => note(`[pond: could not report the download: ${(error as Error).message}]`));
  return { files, transfer: measure };
}

/** What a cut peer-to-peer transfer left half done: R2 fetches those files whole. */
async function clearPartials(dir: string, files: readonly ManifestFile[]): Promise<void> {
  for (const file of files) {
    const target = outputPathIn(dir, file.path);
    await rm(target + PARTIAL_SUFFIX, { force: true });
    await rm(target + STATE_SUFFIX, { force: true });
  }
}

async function bytesAlreadyHere(dir: string, files: readonly ManifestFile[]): Promise<number> {
  let bytes = 0;
  for (const file of files) if (await isVerifiedCopy(outputPathIn(dir, file.path), file)) bytes += file.size;
  return bytes;
}
