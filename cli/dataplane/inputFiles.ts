// `pond run --input PATH`: each file or folder lands at /inputs/<its name>
// (folders recursively). Every file is hashed, chunk by chunk, into one
// transfer manifest; its paths, sizes and sha256 go into the spec, so the
// creator's signed authorization covers the bytes.
import { lstat, readdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { RelativePath, type ResolvedInputFile } from "../../protocol/jobSpec.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { TRANSFER_PROTOCOL_VERSION, type TransferFile, type TransferManifest } from "../../protocol/transfer.ts";
import type { ChunkSource } from "../../p2p/core/storage.ts";
import { buildTransferManifest } from "../../p2p/node/buildTransferManifest.ts";
import { RootedChunkSource } from "../../p2p/node/rootedChunkSource.ts";
import { UsageError } from "../errors.ts";

export interface LocalInputs {
  manifest: TransferManifest;
  /** What the spec's `input_files` says. */
  specFiles: ResolvedInputFile[];
  /** The folder each manifest path is under on this machine. */
  rootOf: ReadonlyMap<string, string>;
  /** Reads the manifest's files from where they are on this machine. */
  source: ChunkSource & { close(): Promise<void> };
}

export async function collectInputs(paths: readonly string[]): Promise<LocalInputs> {
  const byRoot = new Map<string, string[]>();
  const names = new Set<string>();
  for (const given of paths) {
    const full = resolve(given);
    const name = basename(full);
    if (names.has(name)) throw new UsageError(`two --input paths are named "${name}": each lands at /inputs/${name}, so rename one`);
    names.add(name);
    const root = dirname(full);
    const found = await filesUnder(root, name, given);
    byRoot.set(root, [...(byRoot.get(root) ?? []), ...found]);
  }
  const files: TransferFile[] = [];
  const rootOf = new Map<string, string>();
  for (const [root, relative] of byRoot) {
    for (const file of (await buildTransferManifest(root, relative)).files) {
      files.push(file);
      rootOf.set(file.path, root);
    }
  }
  if (files.length > jobLimits.maxInputFileEntries) throw new UsageError(`--input names ${files.length} files; a job takes at most ${jobLimits.maxInputFileEntries}`);
  const total = files.reduce((sum, file) => sum + file.size, 0);
  if (total > jobLimits.maxInputFilesBytes) throw new UsageError(`--input adds up to ${total} bytes; a job takes at most ${jobLimits.maxInputFilesBytes}`);
  const manifest: TransferManifest = { v: TRANSFER_PROTOCOL_VERSION, files };
  return { manifest, specFiles: files.map(({ path, size, sha256 }) => ({ path, size, sha256 })), rootOf, source: new RootedChunkSource(rootOf) };
}

/** `name` under `root`: itself if a file, every regular file inside if a folder; links and devices are refused. */
async function filesUnder(root: string, name: string, given: string): Promise<string[]> {
  const stat = await lstat(join(root, name)).catch(() => undefined);
  if (!stat) throw new UsageError(`--input ${given}: no such file or folder`);
  if (!RelativePath.safeParse(name).success) throw new UsageError(`--input ${given}: "${name}" is not a name an input may have (letters, digits, . _ - only)`);
  if (stat.isFile()) return [name];
  if (!stat.isDirectory()) throw new UsageError(`--input ${given}: only files and folders can be inputs (not links or devices)`);
  const found: string[] = [];
  for (const entry of await readdir(join(root, name), { withFileTypes: true })) {
    const child = `${name}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await filesUnder(root, child, join(given, entry.name))));
    else if (entry.isFile()) {
      if (!RelativePath.safeParse(child).success) throw new UsageError(`--input ${join(given, entry.name)}: "${entry.name}" is not a name an input may have (letters, digits, . _ - only)`);
      found.push(child);
    } else throw new UsageError(`--input ${join(given, entry.name)}: only files and folders can be inputs (not links or devices)`);
  }
  return found;
}
