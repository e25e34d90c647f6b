// What the input cache's tests share: a cache in a test folder, and files as a
// verified fetch leaves them in a job's inputs folder.
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { buildTransferManifest } from "../../../p2p/node/buildTransferManifest.ts";
import type { TransferFile } from "../../../protocol/transfer.ts";
import { InputCache } from "../../../provider/dataplane/inputCache.ts";

const log = pino({ level: "silent" });
export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
export const asInput = (file: TransferFile, path = file.path) => ({ path, size: file.size, sha256: file.sha256 });

export function cacheIn(root: string, budgetBytes = 64 * 1024 * 1024, now?: () => number) {
  return new InputCache({ root: join(root, "cache", "inputs"), budgetBytes, log, ...(now ? { now } : {}) });
}

/** Files as a fetch leaves them, verified, in a job's inputs folder, with their transfer manifest entries. */
export async function fetched(root: string, job: string, files: Record<string, Uint8Array>): Promise<{ inputs: string; files: TransferFile[] }> {
  const inputs = join(root, "jobs", job, "inputs");
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(join(inputs, path, ".."), { recursive: true });
    await writeFile(join(inputs, path), bytes);
  }
  return { inputs, files: (await buildTransferManifest(inputs, Object.keys(files))).files };
}
