// Before a transfer the sender hands the receiver its manifest (the chunk
// list), in parts, on the first channel that opens. The receiver checks it
// against what it trusts (the files' paths, sizes and sha256 from a signed
// spec or result) before asking for a single chunk.
import type { ManifestFile } from "../../protocol/manifest.ts";
import { MANIFEST_PART_CHARS, parseManifestPart, TRANSFER_PROTOCOL_VERSION, TransferManifest, type ManifestPartFrame } from "../../protocol/transfer.ts";
import type { Channel, Unsubscribe } from "./channel.ts";
import { PeerLeftError, TransferError } from "./errors.ts";
import type { TransferPeer } from "./transfer.ts";

/** The sender's manifest does not describe the files the receiver expects. */
export class ManifestMismatchError extends TransferError {
  override name = "ManifestMismatchError";
  constructor(detail: string) {
    super("file_integrity", `the sender's manifest does not match the signed one: ${detail}`);
  }
}

export function manifestParts(manifest: TransferManifest): ManifestPartFrame[] {
  const json = JSON.stringify(manifest);
  const parts = Math.max(1, Math.ceil(json.length / MANIFEST_PART_CHARS));
  return Array.from({ length: parts }, (_, part) => ({ v: TRANSFER_PROTOCOL_VERSION, type: "manifest", part, parts, data: json.slice(part * MANIFEST_PART_CHARS, (part + 1) * MANIFEST_PART_CHARS) }));
}

/** Sends the manifest on `channel`, in order. */
export function sendManifest(channel: Channel, manifest: TransferManifest): void {
  for (const frame of manifestParts(manifest)) channel.sendText(JSON.stringify(frame));
}

/** Waits for the sender's manifest on any of the peer's channels (now or later). */
export function receiveManifest(peer: TransferPeer, timeoutMs = 30_000): Promise<TransferManifest> {
  return new Promise((resolve, reject) => {
    const parts: string[] = [];
    let expected: number | undefined;
    const stops: Unsubscribe[] = [];
    const finish = (error: Error | undefined, manifest?: TransferManifest) => {
      clearTimeout(timer);
      for (const stop of stops.splice(0)) stop();
      if (error) reject(error);
      else resolve(manifest!);
    };
    const timer = setTimeout(() => finish(new TransferError("stalled", `the sender sent no manifest within ${timeoutMs} ms`)), timeoutMs);
    const listen = (channel: Channel) => {
      stops.push(
        channel.onMessage((message) => {
          if (typeof message !== "string") return finish(new TransferError("sender_failed", "the sender sent data before its manifest"));
          const parsed = parseManifestPart(message);
          if (!parsed.ok) return finish(new TransferError("sender_failed", parsed.error));
          const frame = parsed.message;
          if (expected !== undefined && frame.parts !== expected) return finish(new TransferError("sender_failed", "the manifest's parts disagree on how many there are"));
          if (frame.part !== parts.length) return finish(new TransferError("sender_failed", `manifest part ${frame.part} arrived out of order`));
          expected = frame.parts;
          parts.push(frame.data);
          if (parts.length < expected) return;
          let json: unknown;
          try {
            json = JSON.parse(parts.join(""));
          } catch {
            return finish(new TransferError("sender_failed", "the sender's manifest is not JSON"));
          }
          const manifest = TransferManifest.safeParse(json);
          if (!manifest.success) return finish(new TransferError("sender_failed", `the sender's manifest is not valid: ${manifest.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`));
          finish(undefined, manifest.data);
        }),
      );
    };
    stops.push(peer.onChannel(listen), peer.onClose(() => finish(new PeerLeftError("before the manifest arrived"))));
    for (const channel of peer.channels()) listen(channel);
  });
}

/** Refuses a manifest whose files are not exactly `expected` (path, size, sha256), in any order. */
export function checkManifestFiles(manifest: TransferManifest, expected: readonly ManifestFile[]): void {
  const want = new Map(expected.map((file) => [file.path, file]));
  if (manifest.files.length !== want.size) throw new ManifestMismatchError(`it lists ${manifest.files.length} file(s); ${want.size} expected`);
  for (const file of manifest.files) {
    const signed = want.get(file.path);
    if (!signed) throw new ManifestMismatchError(`"${file.path}" is not one of the expected files`);
    if (signed.size !== file.size || signed.sha256 !== file.sha256) throw new ManifestMismatchError(`"${file.path}" is listed with ${file.size} bytes and sha256 ${file.sha256}; expected ${signed.size} bytes and ${signed.sha256}`);
  }
}

/** A file wanted from a sender whose manifest lists more: `sourcePath` there, stored as `path` here. */
export type SelectedFile = ManifestFile & { sourcePath: string };

/**
 * The files of the sender's manifest that `wanted` names (by `sourcePath`, checked for size and
 * sha256), renamed to their `path`, and each one's index in the sender's manifest (what requests
 * name: ChunkReceiverOptions.senderIndex). Other files of the sender's are never asked for.
 */
export function selectManifestFiles(manifest: TransferManifest, wanted: readonly SelectedFile[]): { manifest: TransferManifest; senderIndex: number[] } {
  const index = new Map(manifest.files.map((file, i) => [file.path, i]));
  const senderIndex: number[] = [];
  const files = wanted.map((want) => {
    const at = index.get(want.sourcePath);
    if (at === undefined) throw new ManifestMismatchError(`"${want.sourcePath}" is not among the sender's files`);
    if (senderIndex.includes(at)) throw new ManifestMismatchError(`"${want.sourcePath}" is wanted twice`);
    const file = manifest.files[at]!;
    if (file.size !== want.size || file.sha256 !== want.sha256) throw new ManifestMismatchError(`"${want.sourcePath}" is listed with ${file.size} bytes and sha256 ${file.sha256}; expected ${want.size} bytes and ${want.sha256}`);
    senderIndex.push(at);
    return { ...file, path: want.path };
  });
  return { manifest: { ...manifest, files }, senderIndex };
}
