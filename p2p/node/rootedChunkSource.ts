// A sender's files gathered from several folders (`pond run --input a/x --input b/y`):
// each manifest path is read under the folder it was found in.
import type { TransferFile } from "../../protocol/transfer.ts";
import type { ChunkSource } from "../core/storage.ts";
import { FsChunkSource } from "./fsChunkSource.ts";

export class RootedChunkSource implements ChunkSource {
  private readonly sources = new Map<string, FsChunkSource>();
  constructor(private readonly rootOf: ReadonlyMap<string, string>) {}

  read(file: TransferFile, offset: number, length: number): Promise<Uint8Array> {
    const root = this.rootOf.get(file.path);
    if (!root) return Promise.reject(new Error(`"${file.path}" is not one of the files served`));
    let source = this.sources.get(root);
    if (!source) this.sources.set(root, (source = new FsChunkSource(root)));
    return source.read(file, offset, length);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((source) => source.close()));
  }
}
