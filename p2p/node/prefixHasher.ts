// The sha256 of a file being assembled, computed while chunks arrive rather
// than by reading the whole file back at the end. Chunks arrive nearly in order
// (several channels interleave them), so a few wait in memory for the gap
// before them to fill. If too many wait, or the file was resumed with chunks
// this process never saw, it gives up and the file is hashed from disk.
import { createHash, type Hash } from "node:crypto";

const MAX_WAITING_BYTES = 64 * 1024 * 1024;

export class PrefixHasher {
  private hash: Hash | undefined = createHash("sha256");
  private next = 0;
  private readonly waiting = new Map<number, Uint8Array>();
  private waitingBytes = 0;

  constructor(private readonly chunkCount: number) {}

  /** A chunk that was not added here (already on disk from an earlier run) makes the prefix hash impossible. */
  abandon(): void {
    this.hash = undefined;
    this.waiting.clear();
    this.waitingBytes = 0;
  }

  add(index: number, bytes: Uint8Array): void {
    if (!this.hash || index < this.next || this.waiting.has(index)) return;
    if (index > this.next) {
      this.waiting.set(index, bytes);
      this.waitingBytes += bytes.byteLength;
      if (this.waitingBytes > MAX_WAITING_BYTES) this.abandon();
      return;
    }
    this.hash.update(bytes);
    this.next += 1;
    for (let queued = this.waiting.get(this.next); queued; queued = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      this.waitingBytes -= queued.byteLength;
      this.hash.update(queued);
      this.next += 1;
    }
  }

  /** The file's sha256 if every chunk went through here, else undefined. */
  digest(): string | undefined {
    if (!this.hash || this.next !== this.chunkCount) return undefined;
    const hex = this.hash.digest("hex");
    this.hash = undefined;
    return hex;
  }
}
