// What a transfer process (transferProcess.ts) and the process that started it
// (isolatedTransfer.ts) say to each other over the IPC channel.
import type { IceServer } from "../../../protocol/iceServers.ts";
import type { ManifestFile } from "../../../protocol/manifest.ts";
import type { SelectedFile } from "../../core/manifestExchange.ts";
import type { TransferManifest } from "../../../protocol/transfer.ts";
import { TransferError, type TransferErrorCode } from "../../core/errors.ts";
import type { Route } from "../../core/transfer.ts";
import type { IncomingSignal, OutgoingSignal } from "../peer.ts";

export interface PeerSetup {
  iceServers: readonly IceServer[];
  connectTimeoutMs: number;
  bindAddress?: string;
  /** Data channels an offering side opens. */
  channels?: number;
  /** Shown in node-datachannel's logs. */
  name: string;
}

/** Offers, receives the other side's manifest, checks it against `expected`, and receives its files into `dir`. */
export interface FetchJob {
  kind: "fetch";
  peer: PeerSetup;
  dir: string;
  expected: readonly ManifestFile[];
  /** Hand back the sender's transfer manifest with the result (a provider keeps a job's inputs to serve them again). */
  keepManifest?: boolean;
  /**
   * Set when the sender serves more than `expected` (another job's outputs, say): the files to take
   * from it, each under its `path` here. `expected` then lists the same files by those paths.
   */
  select?: readonly SelectedFile[];
}

/** Answers an offer, sends `manifest`, and serves its files until the receiver has them all. */
export interface ServeJob {
  kind: "serve";
  peer: PeerSetup;
  manifest: TransferManifest;
  /** Where each manifest path is read: one folder for all, or a folder per path. */
  source: { root: string } | { rootOf: Record<string, string> };
}

export type TransferJob = FetchJob | ServeJob;

export interface FetchResult {
  route: Route;
  bytes: number;
  ms: number;
  /** When (Date.now()) the first data frame arrived. */
  firstByteAt?: number;
  /** The sender's manifest (its selection, under this side's paths), checked against `expected`, when the job asked to keep it. */
  manifest?: TransferManifest;
}

export type ServeResult = Omit<FetchResult, "firstByteAt" | "manifest">;
export type ResultOf<J extends TransferJob> = J extends FetchJob ? FetchResult : ServeResult;

export interface SerializedError {
  name: string;
  code: TransferErrorCode;
  message: string;
}

export type ParentMessage = { type: "start"; job: TransferJob } | { type: "signal"; signal: IncomingSignal } | { type: "stop" };

export type ChildMessage =
  | { type: "alive" }
  | { type: "signal"; signal: OutgoingSignal }
  /** Connected, and for a fetch the manifest checked: the bytes start. */
  | { type: "connected"; route: Route }
  | { type: "progress"; bytes: number; total: number }
  | { type: "done"; result: FetchResult | ServeResult }
  | { type: "failed"; error: SerializedError };

/** `otherwise` is the code for an error that is not a TransferError (a file system's, say). */
export function serializeError(error: unknown, otherwise: TransferErrorCode): SerializedError {
  if (error instanceof TransferError) return { name: error.name, code: error.code, message: error.message };
  return { name: "TransferError", code: otherwise, message: error instanceof Error ? error.message : String(error) };
}

/** A TransferError again, with the class name it had in the transfer process (callers branch on `code`). */
export function deserializeError(serialized: SerializedError): TransferError {
  const error = new TransferError(serialized.code, serialized.message);
  error.name = serialized.name;
  return error;
}
