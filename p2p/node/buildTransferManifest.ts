// The manifest for files on disk: one read of each file gives its sha256 and
// every chunk's.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { DEFAULT_CHUNK_SIZE, TRANSFER_PROTOCOL_VERSION, TransferManifest, type TransferFile } from "../../protocol/transfer.ts";
import { pathInside } from "./storagePath.ts";

export async function buildTransferManifest(root: string, paths: readonly string[], chunkSize = DEFAULT_CHUNK_SIZE): Promise<TransferManifest> {
  const files: TransferFile[] = [];
  for (const path of paths) files.push(await describeFile(root, path, chunkSize));
  // Parsing checks what was built: path syntax, chunk size bounds, unique paths.
  return TransferManifest.parse({ v: TRANSFER_PROTOCOL_VERSION, files });
}

async function describeFile(root: string, path: string, chunkSize: number): Promise<TransferFile> {
  const handle = await open(pathInside(root, path), "r");
  try {
    const whole = createHash("sha256");
    const chunks: string[] = [];
    const buffer = new Uint8Array(chunkSize);
    let size = 0;
    for (;;) {
      let filled = 0;
      while (filled < chunkSize) {
        const { bytesRead } = await handle.read(buffer, filled, chunkSize - filled, size + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      if (filled === 0) break;
      const chunk = buffer.subarray(0, filled);
      whole.update(chunk);
      chunks.push(createHash("sha256").update(chunk).digest("hex"));
      size += filled;
      if (filled < chunkSize) break;
    }
    return { path, size, sha256: whole.digest("hex"), chunk_size: chunkSize, chunks };
  } finally {
    await handle.close();
  }
}
