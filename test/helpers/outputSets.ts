// In-memory output sets for the comparison's tests (protocol/outputComparison.ts):
// real sha256s, and a record of which files the comparison read.
import { createHash } from "node:crypto";
import type { OutputSet } from "../../protocol/outputComparison.ts";

export type MemoryFiles = Record<string, string | Uint8Array>;

export function memoryOutputSet(files: MemoryFiles): OutputSet & { reads: string[] } {
  const bytes = (path: string) => (typeof files[path] === "string" ? new TextEncoder().encode(files[path]) : (files[path] as Uint8Array));
  const reads: string[] = [];
  return {
    reads,
    files: Object.keys(files).map((path) => ({ path, size: bytes(path).length, sha256: createHash("sha256").update(bytes(path)).digest("hex") })),
    async read(path) {
      reads.push(path);
      return bytes(path);
    },
  };
}
