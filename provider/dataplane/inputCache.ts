// Input files kept by content across jobs and restarts, so a job whose inputs a
// provider already holds moves no bytes. <root>/<sha256> is one hard link to a
// file a fetch verified; <root>/<sha256>.chunks.json its chunk hashes (what a
// mediator is served from); <root>/index.json each file's size, last use and
// identity when it was verified, written whole and renamed. Bounded by a budget,
// least recently used out first. Nothing is ever copied: a job's file is a link
// to the cached one (inputs are mounted read-only), and a file is cached by
// linking the one its fetch verified. docs/providers.md says what "checked
// again" catches and what it does not.
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import { z } from "zod";
import { Sha256Hex } from "../../protocol/manifest.ts";
import { TransferFile } from "../../protocol/transfer.ts";
import { sha256OfFile } from "../../p2p/node/fileSha256.ts";
import { pathInside } from "../../p2p/node/storagePath.ts";

const INDEX_FILE = "index.json";
const CHUNKS_SUFFIX = ".chunks.json";
const TEMP_PREFIX = ".tmp-";

/**
 * Who a cached file is, as recorded when it was verified: any write to it changes its mtime,
 * and a replacement its inode. Not ctime, though any write changes that too: making or removing
 * a hard link changes it as well, so every job's own link (and its removal) would look like damage.
 */
const Identity = z.object({ dev: z.string(), ino: z.string(), size: z.string(), mtime_ns: z.string() });
type Identity = z.infer<typeof Identity>;

const Entry = z.object({
  sha256: Sha256Hex,
  size: z.int().min(0),
  /** Unix ms of the last job that used it (or its insertion). */
  last_used: z.number(),
  /** Unix ms when its bytes were last hashed whole (its fetch, or a recheck). */
  verified_at: z.number(),
  identity: Identity,
});
type Entry = z.infer<typeof Entry>;

const Index = z.object({ v: z.literal(1), entries: z.array(Entry) });

export interface InputCacheOptions {
  root: string;
  /** The most bytes kept; 0 keeps nothing. */
  budgetBytes: number;
  log: Logger;
  now?: () => number;
}

export interface PlacedInputs {
  /** The spec's files now linked into the inputs folder from the cache, each with its chunk hashes. */
  files: TransferFile[];
  bytes: number;
}

export type RecheckOutcome = "nothing due" | "intact" | "dropped";

export class InputCache extends EventEmitter<{ change: [] }> {
  private readonly entries = new Map<string, Entry>();
  private total = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly options: InputCacheOptions) {
    super();
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.options.budgetBytes > 0;
  }

  get budgetBytes(): number {
    return this.options.budgetBytes;
  }

  get usedBytes(): number {
    return this.total;
  }

  has(sha256: string): boolean {
    return this.entries.has(sha256);
  }

  /** The cached files' sha256, most recently used first: what the provider advertises. */
  hashes(limit: number): string[] {
    return [...this.entries.values()]
      .sort((a, b) => b.last_used - a.last_used)
      .slice(0, limit)
      .map((entry) => entry.sha256);
  }

  /**
   * At start: the index an earlier run wrote, less what no longer matches it (gone, changed);
   * leftovers of an insert a crash cut short, and any file the index does not name, are removed.
   */
  async load(): Promise<void> {
    if (!this.enabled) return;
    await mkdir(this.options.root, { recursive: true, mode: 0o700 });
    await this.locked(async () => {
      for (const entry of await this.readIndex()) {
        // Listed twice (an index edited by hand): counted once, or its bytes would count double.
        if (this.entries.has(entry.sha256)) continue;
        if ((await this.intact(entry)) && (await this.chunksOf(entry))) this.add(entry);
        else this.options.log.warn({ sha256: entry.sha256 }, "a cached input (or its chunk record) changed or vanished while the daemon was down; dropped");
      }
      for (const name of await readdir(this.options.root)) {
        if (name === INDEX_FILE) continue;
        const sha256 = name.endsWith(CHUNKS_SUFFIX) ? name.slice(0, -CHUNKS_SUFFIX.length) : name;
        if (!this.entries.has(sha256)) await rm(join(this.options.root, name), { recursive: true, force: true });
      }
      await this.evict(0);
      await this.writeIndex();
    });
    this.emit("change");
  }

  /**
   * Links each of `files` the cache holds into `inputsDir` (at its path there), checked again first:
   * one whose identity changed since it was verified, or that is missing, is dropped and left for
   * the fetch. Never fails a job: a file that cannot be placed is simply not placed.
   */
  async place(files: ReadonlyArray<{ path: string; size: number; sha256: string }>, inputsDir: string): Promise<PlacedInputs> {
    const placed: PlacedInputs = { files: [], bytes: 0 };
    if (!this.enabled || files.length === 0) return placed;
    let changed = false;
    await this.locked(async () => {
      for (const file of files) {
        const entry = this.entries.get(file.sha256);
        if (!entry || entry.size !== file.size) continue;
        try {
          // Stored under the hash as its path: the same file may sit at another path in each job.
          const chunks = (await this.intact(entry)) ? await this.chunksOf(entry) : undefined;
          if (!chunks) {
            // Dropped, not skipped: kept, it would be advertised warm and keep its fetched copy out.
            this.options.log.warn({ sha256: entry.sha256, path: file.path }, "a cached input (or its chunk record) changed on disk since it was verified; dropped, to be fetched again");
            changed = true;
            await this.drop(entry);
            continue;
          }
          const target = pathInside(inputsDir, file.path);
          await mkdir(dirname(target), { recursive: true });
          await rm(target, { force: true });
          await link(this.filePath(entry.sha256), target);
          entry.last_used = this.now();
          placed.files.push({ ...chunks, path: file.path });
          placed.bytes += file.size;
        } catch (error) {
          this.options.log.warn({ err: error, sha256: file.sha256, path: file.path }, "could not use a cached input; fetching it");
        }
      }
      if (placed.files.length > 0 || changed) await this.writeIndex();
    });
    if (changed) this.emit("change");
    return placed;
  }

  /**
   * Drops each of `placed` (linked into `inputsDir` by `place`) that the job's fetch has since
   * written anew: the fetch hashes what it finds and rewrites a file that does not match, so the
   * cached copy's bytes changed in a way its identity did not show. The fetched copy can then be kept.
   */
  async dropRewritten(placed: readonly TransferFile[], inputsDir: string): Promise<void> {
    if (!this.enabled || placed.length === 0) return;
    let changed = false;
    await this.locked(async () => {
      for (const file of placed) {
        const entry = this.entries.get(file.sha256);
        const now = await identityOf(pathInside(inputsDir, file.path)).catch(() => undefined);
        if (!entry || !now || (now.dev === entry.identity.dev && now.ino === entry.identity.ino)) continue;
        this.options.log.error({ sha256: entry.sha256, path: file.path }, "a job's fetch found a cached input's bytes wrong; dropped");
        changed = true;
        await this.drop(entry).catch(() => undefined);
      }
      if (changed) await this.writeIndex();
    });
    if (changed) this.emit("change");
  }

  /**
   * Keeps files a fetch just verified (in `inputsDir`, described by their transfer manifest
   * entries) by linking them in, evicting the least recently used past the budget. A failure
   * costs only the next job's fetch.
   */
  async keep(files: readonly TransferFile[], inputsDir: string): Promise<void> {
    if (!this.enabled) return;
    let added = false;
    await this.locked(async () => {
      for (const file of files) {
        if (this.entries.has(file.sha256)) continue;
        if (file.size > this.options.budgetBytes) continue;
        try {
          await this.evict(file.size);
          await this.insert(file, pathInside(inputsDir, file.path));
          added = true;
        } catch (error) {
          this.options.log.warn({ err: error, sha256: file.sha256 }, "could not keep an input in the cache");
        }
      }
      if (added) await this.writeIndex();
    });
    if (added) this.emit("change");
  }

  /**
   * Hashes again the one file verified longest ago, if that was more than `olderThanMs` ago: what
   * the identity check cannot see (the disk itself changing bytes) is found here, in the background.
   */
  async recheckOldest(olderThanMs: number): Promise<RecheckOutcome> {
    const due = [...this.entries.values()].filter((entry) => this.now() - entry.verified_at > olderThanMs).sort((a, b) => a.verified_at - b.verified_at)[0];
    if (!due) return "nothing due";
    // Hashed outside the lock (seconds for a GB): jobs are not held up meanwhile.
    const sha256 = await sha256OfFile(this.filePath(due.sha256)).catch(() => undefined);
    return this.locked(async () => {
      const entry = this.entries.get(due.sha256);
      if (!entry) return "dropped" as const;
      if (sha256 === entry.sha256 && (await this.intact(entry))) {
        entry.verified_at = this.now();
        await this.writeIndex();
        return "intact" as const;
      }
      this.options.log.error({ sha256: entry.sha256 }, "a cached input no longer matches its sha256; dropped");
      await this.drop(entry);
      await this.writeIndex();
      this.emit("change");
      return "dropped" as const;
    });
  }

  private async insert(file: TransferFile, source: string): Promise<void> {
    const temp = join(this.options.root, `${TEMP_PREFIX}${file.sha256}-${process.pid}-${Math.random().toString(36).slice(2)}`);
    // A link, never a copy; a name that appears only by rename, so a crash leaves a temporary name
    // (removed at the next start) or the whole file, never a partial one under its hash.
    await link(source, temp);
    try {
      const identity = await identityOf(temp);
      if (identity.size !== String(file.size)) throw new Error(`the fetched file is ${identity.size} bytes, not ${file.size}`);
      await writeFile(`${temp}${CHUNKS_SUFFIX}`, JSON.stringify({ ...file, path: file.sha256 }));
      await rename(`${temp}${CHUNKS_SUFFIX}`, this.chunksPath(file.sha256));
      await rename(temp, this.filePath(file.sha256));
      const now = this.now();
      this.add({ sha256: file.sha256, size: file.size, last_used: now, verified_at: now, identity });
    } finally {
      await rm(temp, { force: true });
      await rm(`${temp}${CHUNKS_SUFFIX}`, { force: true });
    }
  }

  /**
   * Least recently used out until `incoming` more bytes fit. Safe while a job uses one: the job's
   * own hard link keeps the file's inode and its bytes (Linux frees them only when no name and no
   * open descriptor is left), so the cache only forgets it; the disk comes back when the job's folder goes.
   */
  private async evict(incoming: number): Promise<void> {
    if (this.total + incoming <= this.options.budgetBytes) return;
    for (const entry of [...this.entries.values()].sort((a, b) => a.last_used - b.last_used)) {
      if (this.total + incoming <= this.options.budgetBytes) break;
      this.options.log.info({ sha256: entry.sha256, bytes: entry.size }, "evicted a cached input (least recently used) to stay within the cache's budget");
      await this.drop(entry);
    }
  }

  private add(entry: Entry): void {
    this.entries.set(entry.sha256, entry);
    this.total += entry.size;
  }

  private async drop(entry: Entry): Promise<void> {
    this.entries.delete(entry.sha256);
    this.total -= entry.size;
    await rm(this.filePath(entry.sha256), { force: true });
    await rm(this.chunksPath(entry.sha256), { force: true });
  }

  private async intact(entry: Entry): Promise<boolean> {
    const now = await identityOf(this.filePath(entry.sha256)).catch(() => undefined);
    const then = entry.identity;
    return now !== undefined && now.dev === then.dev && now.ino === then.ino && now.size === then.size && now.mtime_ns === then.mtime_ns && now.size === String(entry.size);
  }

  private async readIndex(): Promise<Entry[]> {
    const path = join(this.options.root, INDEX_FILE);
    try {
      return Index.parse(JSON.parse(await readFile(path, "utf8"))).entries;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      // Not a readable file (a folder, no permission) or not an index: the cache starts empty. Only
      // that name goes (inside the cache's own folder), so a new index can take its place.
      this.options.log.warn({ err: error }, "the input cache's index is unreadable; starting the cache empty");
      await rm(path, { recursive: true, force: true }).catch(() => undefined);
      return [];
    }
  }

  /**
   * Never throws: a cache whose index cannot be written (a full disk) still serves and keeps files.
   * The older index on disk stays safe to start from: load checks each entry it lists against its
   * file, and removes every file it does not list.
   */
  private async writeIndex(): Promise<void> {
    const path = join(this.options.root, INDEX_FILE);
    try {
      await writeFile(`${path}.tmp`, JSON.stringify({ v: 1, entries: [...this.entries.values()] }));
      await rename(`${path}.tmp`, path);
    } catch (error) {
      this.options.log.warn({ err: error }, "could not write the input cache's index; written again at its next change");
    }
  }

  /** A file's chunk hashes, kept beside it; undefined when missing, unparsable, or another file's. */
  private async chunksOf(entry: Entry): Promise<TransferFile | undefined> {
    try {
      const chunks = TransferFile.parse(JSON.parse(await readFile(this.chunksPath(entry.sha256), "utf8")));
      return chunks.sha256 === entry.sha256 && chunks.size === entry.size ? chunks : undefined;
    } catch {
      return undefined;
    }
  }

  /** One change at a time: a place never meets a half-done insert or eviction. */
  private locked<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private filePath(sha256: string): string {
    return join(this.options.root, sha256);
  }

  private chunksPath(sha256: string): string {
    return join(this.options.root, `${sha256}${CHUNKS_SUFFIX}`);
  }
}

async function identityOf(path: string): Promise<Identity> {
  const stats = await stat(path, { bigint: true });
  return { dev: String(stats.dev), ino: String(stats.ino), size: String(stats.size), mtime_ns: String(stats.mtimeNs) };
}

