// Puts a chunk back together from its data frames. A chunk's frames come in
// order on one channel (SCTP keeps a channel ordered), so each frame must start
// where the previous one ended. A frame at offset 0 starts the chunk afresh (it
// was asked for again, or moved to another channel after one closed); later
// frames of a copy that was given up on are ignored.
import { chunkLength, type TransferManifest } from "../../protocol/transfer.ts";
import type { Channel } from "./channel.ts";

export type AssemblyResult =
  | { kind: "partial" }
  | { kind: "ignored" }
  | { kind: "complete"; bytes: Uint8Array }
  | { kind: "rejected"; reason: string };

interface Assembly {
  channel: Channel;
  bytes: Uint8Array;
  filled: number;
}

export const chunkKey = (file: number, chunk: number) => `${file}:${chunk}`;

export class ChunkAssembler {
  private readonly assemblies = new Map<string, Assembly>();

  constructor(private readonly manifest: TransferManifest) {}

  accept(channel: Channel, frame: { file: number; chunk: number; offset: number; payload: Uint8Array }): AssemblyResult {
    const file = this.manifest.files[frame.file];
    if (!file || frame.chunk >= file.chunks.length) return { kind: "rejected", reason: `no chunk ${frame.chunk} of file ${frame.file} in the manifest` };
    const key = chunkKey(frame.file, frame.chunk);
    const length = chunkLength(file, frame.chunk);
    let assembly = this.assemblies.get(key);
    if (frame.offset === 0) {
      assembly = { channel, bytes: new Uint8Array(length), filled: 0 };
      this.assemblies.set(key, assembly);
    }
    if (!assembly || assembly.channel !== channel) return { kind: "ignored" };
    if (frame.offset !== assembly.filled) {
      this.assemblies.delete(key);
      return { kind: "rejected", reason: `frame at offset ${frame.offset} of chunk ${frame.chunk} of file ${frame.file} is out of order` };
    }
    if (frame.offset + frame.payload.byteLength > length) {
      this.assemblies.delete(key);
      return { kind: "rejected", reason: `frame overruns chunk ${frame.chunk} of file ${frame.file} (${length} bytes)` };
    }
    assembly.bytes.set(frame.payload, frame.offset);
    assembly.filled += frame.payload.byteLength;
    if (assembly.filled < length) return { kind: "partial" };
    this.assemblies.delete(key);
    return { kind: "complete", bytes: assembly.bytes };
  }

  /** Forgets the half-built chunks a closed channel was carrying. */
  dropChannel(channel: Channel): void {
    for (const [key, assembly] of this.assemblies) if (assembly.channel === channel) this.assemblies.delete(key);
  }

  clear(): void {
    this.assemblies.clear();
  }
}
