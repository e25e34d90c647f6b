// A finished job's outputs, peer to peer from its provider: the creator offers
// on the job's signaling, the provider answers with its retained outputs'
// manifest (checked against the signed one: same paths, sizes, sha256), then
// the chunks, each checked, each file checked whole before it gets its name.
// The transfer runs in a process of its own (p2p/node/isolated).
import type { ChildProcess } from "node:child_process";
import type { ManifestFile } from "../../protocol/manifest.ts";
import type { IceServer } from "../../protocol/iceServers.ts";
import type { Route } from "../../p2p/core/transfer.ts";
import type { FetchJob } from "../../p2p/node/isolated/messages.ts";
import { openSignaledTransfer } from "../../p2p/node/isolated/signaledTransfer.ts";
import type { SignalingSocket } from "./signalingSocket.ts";

export interface PeerDownloadOptions {
  socket: SignalingSocket;
  jobId: string;
  files: readonly ManifestFile[];
  dir: string;
  iceServers: readonly IceServer[];
  connectTimeoutMs: number;
  bindAddress?: string;
  channels?: number;
  /** A transfer process started ahead (while the job ran); else one is started now. */
  process?: ChildProcess;
  onProgress?(done: number, total: number): void;
}

export interface PeerDownloadResult {
  route: Route;
  bytes: number;
  ms: number;
  /** When (Date.now()) the first data frame arrived. */
  firstByteAt: number | undefined;
}

export async function downloadFromProvider(options: PeerDownloadOptions): Promise<PeerDownloadResult> {
  const { socket } = options;
  const job: FetchJob = {
    kind: "fetch",
    peer: {
      iceServers: options.iceServers,
      connectTimeoutMs: options.connectTimeoutMs,
      channels: options.channels ?? 1,
      name: `pond-download-${options.jobId}`,
      ...(options.bindAddress ? { bindAddress: options.bindAddress } : {}),
    },
    dir: options.dir,
    expected: options.files,
  };
  const session = openSignaledTransfer(job, {
    remote: "provider",
    endWhenRemoteAbsent: true,
    send: (signal) => socket.send(signal),
    ...(options.process ? { process: options.process } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  const { transfer } = session;
  const stop = socket.subscribe((frame) => void session.deliver(frame));
  try {
    const received = await transfer.result;
    return { route: received.route, bytes: received.bytes, ms: received.ms, firstByteAt: received.firstByteAt };
  } finally {
    stop();
    transfer.close();
  }
}
