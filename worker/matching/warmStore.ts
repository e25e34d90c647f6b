// A matchmaker's index of what its providers hold warm (protocol WarmSet): which
// providers hold an image digest or a cached input, looked up by the digest or
// hash a job names. Kept apart from the published capacity, so a round reads
// only the holders of its own jobs' keys, not every provider's whole set.
import type { WarmSet } from "../../protocol/hubMessages.ts";
import { parseImageReference } from "../../protocol/imageReference.ts";
import type { JobSpec } from "../../protocol/jobSpec.ts";
import type { QueuedJob, SavedBytes, WarmKeys } from "./matcher.ts";

/** Holders read per key at most: a round's cost stays bounded however many providers hold a popular image. */
const HOLDERS_PER_KEY = 256;
/** A job's biggest input files are looked up, no more: they are most of what there is to save. */
const INPUT_KEYS_PER_JOB = 16;

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
    sql.exec("CREATE INDEX IF NOT EXISTS warm_images_digest ON warm_images(digest)");
    sql.exec("CREATE TABLE IF NOT EXISTS warm_inputs (address TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (address, sha256))");
    sql.exec("CREATE INDEX IF NOT EXISTS warm_inputs_sha256 ON warm_inputs(sha256)");
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
   * The matcher's view for one round: per job, the bytes each holder saves it (its image's size
   * where it holds the image's digest, plus the sizes of the job's inputs it has cached). Each key
   * is read once a round, however many jobs share it.
   */
  savedBytesForRound(): SavedBytes {
    const imageHolders = readOnce((digest) =>
      this.sql
        .exec("SELECT address, bytes FROM warm_images WHERE digest = ? LIMIT ?", digest, HOLDERS_PER_KEY)
        .toArray()
        .map((row) => [String(row.address), Number(row.bytes)] as [string, number]),
    );
    const inputHolders = readOnce((sha256) =>
      this.sql
        .exec("SELECT address FROM warm_inputs WHERE sha256 = ? LIMIT ?", sha256, HOLDERS_PER_KEY)
        .toArray()
        .map((row) => String(row.address)),
    );
    // One map per distinct set of keys: the matcher ranks each map's holders once a round.
    const byKeys = new Map<string, Map<string, number> | undefined>();
    return (job: QueuedJob) => {
      if (!job.warm) return undefined;
      const keys = `${job.warm.image ?? ""}|${(job.warm.inputs ?? []).map((input) => `${input.sha256}:${input.size}`).join(",")}`;
      if (byKeys.has(keys)) return byKeys.get(keys);
      const saved = new Map<string, number>();
      if (job.warm.image) for (const [address, bytes] of imageHolders(job.warm.image)) saved.set(address, bytes);
      for (const input of job.warm.inputs ?? []) {
        for (const address of inputHolders(input.sha256)) saved.set(address, (saved.get(address) ?? 0) + input.size);
      }
      byKeys.set(keys, saved.size > 0 ? saved : undefined);
      return byKeys.get(keys);
    };
  }
}

/** `read`, called at most once per key: a round asks for the same key once per job that has it. */
function readOnce<T>(read: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (!seen.has(key)) seen.set(key, read(key));
    return seen.get(key)!;
  };
}
