// A matchmaker's index of what its providers hold warm (protocol WarmSet): which
// providers hold an image digest or a cached input, looked up by the digest or
// hash a job names. Kept apart from the published capacity, so a round reads
// only the holders of its own jobs' keys, not every provider's whole set.
import type { WarmSet } from "../../protocol/hubMessages.ts";
import { parseImageReference } from "../../protocol/imageReference.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { HasRoom, SavedBytes, WarmKeys } from "./matcher.ts";

/** Holders with room listed per key at most: the matcher ranks no more, however many providers hold a popular image. */
const HOLDERS_PER_KEY = 256;
/** A job's biggest input files are looked up, no more: they are most of what there is to save. */
const INPUT_KEYS_PER_JOB = 16;
/** Room as a caller that gives none sees it (a bench, a test): every holder's. */
const anyone: HasRoom = () => true;

/** What a provider could hold for this job: its image if pinned by digest, its biggest input files known by sha256. */
export function warmKeysOf(spec: Pick<JobSpec, "image" | "input_files">): WarmKeys | undefined {
  const image = parseImageReference(spec.image)?.digest;
  const inputs = (spec.input_files ?? [])
    .flatMap((file) => (file.sha256 !== undefined && file.size !== undefined && file.size > 0 ? [{ sha256: file.sha256, size: file.size }] : []))
    .sort((a, b) => b.size - a.size)
    .slice(0, INPUT_KEYS_PER_JOB);
  if (!image && inputs.length === 0) return undefined;
  return { ...(image ? { image } : {}), ...(inputs.length > 0 ? { inputs } : {}) };
}

export class WarmStore {
  constructor(private readonly sql: SqlStorage) {
    sql.exec("CREATE TABLE IF NOT EXISTS warm_images (address TEXT NOT NULL, digest TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (address, digest))");
    // Covering, and by size within a digest: a digest's smallest claim is one seek, its holders one range read.
    sql.exec("DROP INDEX IF EXISTS warm_images_digest");
    sql.exec("CREATE INDEX IF NOT EXISTS warm_images_holders ON warm_images(digest, bytes, address)");
    sql.exec("CREATE TABLE IF NOT EXISTS warm_inputs (address TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (address, sha256))");
    sql.exec("DROP INDEX IF EXISTS warm_inputs_sha256");
    sql.exec("CREATE INDEX IF NOT EXISTS warm_inputs_holders ON warm_inputs(sha256, address)");
  }

  /** The provider's whole set, replacing what it said before. */
  replace(address: string, warm: WarmSet): void {
    this.remove(address);
    for (const image of warm.images) this.sql.exec("INSERT OR REPLACE INTO warm_images (address, digest, bytes) VALUES (?, ?, ?)", address, image.digest, image.bytes);
    for (const sha256 of new Set(warm.inputs)) this.sql.exec("INSERT INTO warm_inputs (address, sha256) VALUES (?, ?)", address, sha256);
  }

  remove(address: string): void {
    this.sql.exec("DELETE FROM warm_images WHERE address = ?", address);
    this.sql.exec("DELETE FROM warm_inputs WHERE address = ?", address);
  }

  /**
   * The matcher's view for one round: per job, the bytes each holder with room saves it (the image's
   * size where it holds the image's digest, plus the sizes of the job's inputs it has cached). Each key
   * is read once a round per kind of room (GPU or CPU jobs), however many jobs share it.
   */
  savedBytesForRound(): SavedBytes {
    const byRoom = new Map<HasRoom, (warm: WarmKeys) => ReadonlyMap<string, number> | undefined>();
    return (job, hasRoom = anyone) => {
      if (!job.warm) return undefined;
      let lookup = byRoom.get(hasRoom);
      if (!lookup) byRoom.set(hasRoom, (lookup = this.lookup(hasRoom)));
      return lookup(job.warm);
    };
  }

  private lookup(hasRoom: HasRoom): (warm: WarmKeys) => ReadonlyMap<string, number> | undefined {
    const imageHolders = readOnce((digest) => ({
      // One size per digest, the (lower) median of its holders' claims: the digest names one image, so no holder
      // outranks another by claiming it is bigger, and a few claiming 0 do not make it worth nothing to every
      // holder (sizes are the providers' word, bounded only by the protocol). One range read of the index.
      bytes: Number(
        this.sql
          .exec("SELECT bytes FROM warm_images WHERE digest = ? ORDER BY bytes LIMIT 1 OFFSET ((SELECT COUNT(*) FROM warm_images WHERE digest = ?) - 1) / 2", digest, digest)
          .toArray()[0]?.bytes ?? 0,
      ),
      holders: withRoom(this.sql.exec("SELECT address FROM warm_images WHERE digest = ?", digest), hasRoom),
    }));
    // An input's size is the job spec's, the same for every holder.
    const inputHolders = readOnce((sha256) => withRoom(this.sql.exec("SELECT address FROM warm_inputs WHERE sha256 = ?", sha256), hasRoom));
    // One map per distinct set of keys: the matcher ranks each map's holders once a round.
    const byKeys = new Map<string, Map<string, number> | undefined>();
    return (warm) => {
      const keys = `${warm.image ?? ""}|${(warm.inputs ?? []).map((input) => `${input.sha256}:${input.size}`).join(",")}`;
      if (byKeys.has(keys)) return byKeys.get(keys);
      const saved = new Map<string, number>();
      if (warm.image) {
        const image = imageHolders(warm.image);
        for (const address of image.holders) saved.set(address, image.bytes);
      }
      for (const input of warm.inputs ?? []) {
        for (const address of inputHolders(input.sha256)) saved.set(address, (saved.get(address) ?? 0) + input.size);
      }
      byKeys.set(keys, saved.size > 0 ? saved : undefined);
      return byKeys.get(keys);
    };
  }
}

/**
 * The first HOLDERS_PER_KEY holders that have room this round. Busy ones are skipped, not counted: counted,
 * the first 256 to advertise a popular image hid every later holder while they were busy. A read costs at
 * most the key's holders (no more than the providers the round already ranks), once per key a round.
 */
function withRoom(rows: SqlStorageCursor<Record<string, SqlStorageValue>>, hasRoom: HasRoom): string[] {
  const found: string[] = [];
  for (const [address] of rows.raw()) {
    if (!hasRoom(String(address))) continue;
    found.push(String(address));
    if (found.length === HOLDERS_PER_KEY) break;
  }
  return found;
}

/** `read`, called at most once per key: a round asks for the same key once per job that has it. */
function readOnce<T>(read: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (!seen.has(key)) seen.set(key, read(key));
    return seen.get(key)!;
  };
}
