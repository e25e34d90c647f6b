// The small file beside a partial download that lists its verified chunks, so a
// receiver that was killed and restarted asks only for the rest. Written after
// the chunk's bytes, through a temporary file and a rename, so it never names a
// chunk that was not written; the chunks it names are hashed again on resume.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { z } from "zod";
import { Sha256Hex } from "../../protocol/manifest.ts";
import type { TransferFile } from "../../protocol/transfer.ts";

const PartialState = z.object({
  v: z.literal(1),
  sha256: Sha256Hex,
  size: z.int().min(0),
  chunk_size: z.int().positive(),
  verified: z.array(z.int().min(0)),
});
type PartialState = z.infer<typeof PartialState>;

/** Chunks the state file at `path` lists for this very file (same sha256, size and chunk size); none if it is missing, damaged or for another file. */
export async function readVerifiedChunks(path: string, file: TransferFile): Promise<number[]> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return [];
  }
  const state = PartialState.safeParse(json);
  if (!state.success) return [];
  const { sha256, size, chunk_size, verified } = state.data;
  if (sha256 !== file.sha256 || size !== file.size || chunk_size !== file.chunk_size) return [];
  return verified.filter((chunk) => chunk < file.chunks.length);
}

/** Keeps the state file current; writes are coalesced, so a burst of chunks costs a few writes. */
export class PartialStateWriter {
  private readonly verified = new Set<number>();
  private writing: Promise<void> | undefined;
  private dirty = false;
  /** A failed write surfaces at the next flush, not as an unhandled rejection. */
  private failure: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly file: TransferFile,
    initial: Iterable<number>,
  ) {
    for (const chunk of initial) this.verified.add(chunk);
  }

  add(chunk: number): void {
    this.verified.add(chunk);
    this.dirty = true;
    this.writing ??= this.drain();
  }

  /** Resolves once every added chunk is on disk in the state file. */
  async flush(): Promise<void> {
    this.dirty = true;
    this.writing ??= this.drain();
    await this.writing;
    if (this.failure) throw this.failure;
  }

  async remove(): Promise<void> {
    await this.writing;
    await rm(this.path, { force: true });
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        const state: PartialState = { v: 1, sha256: this.file.sha256, size: this.file.size, chunk_size: this.file.chunk_size, verified: [...this.verified].sort((a, b) => a - b) };
        const temporary = `${this.path}.tmp`;
        await writeFile(temporary, JSON.stringify(state));
        await rename(temporary, this.path);
      }
    } catch (error) {
      this.failure = error as Error;
    } finally {
      this.writing = undefined;
    }
  }
}
