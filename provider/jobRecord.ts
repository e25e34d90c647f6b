// What the daemon needs to finish a job after a restart, kept in the job's
// folder (`job.json`, beside inputs/ and outputs/, out of the container's
// reach): the offer it accepted, the grace it was told, its container, and how
// far its output was forwarded. Written at accept and as the job goes on,
// each time whole (a temporary file renamed), one write after another.
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { EgressUsage } from "../protocol/egress.ts";
import { OfferMessage } from "../protocol/hubMessages.ts";

const RECORD_FILE = "job.json";

export const JobRecord = z.object({
  v: z.literal(1),
  offer: OfferMessage,
  accepted_at: z.int(),
  /** How long the hub waits for a provider that went away (its welcome's grace). */
  grace_ms: z.int().positive(),
  /** Set once the container exists: a job without one never ran. */
  container_id: z.string().min(1).optional(),
  pull_ms: z.number().min(0).optional(),
  /** The last log entry sent whole (Docker's timestamp), and how many bytes went out by then. */
  log: z.object({ cursor: z.string(), forwarded_bytes: z.int().min(0) }).optional(),
  /** Where the job's egress meter stood when last written: a restarted daemon's proxy goes on from it (egress/usage.ts). */
  egress: z.object({ usage: EgressUsage, bytes: z.int().min(0) }).optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

/** The record in `workDir`, or why there is none that can be used. */
export async function readJobRecord(workDir: string): Promise<{ ok: true; record: JobRecord } | { ok: false; why: string }> {
  let text: string;
  try {
    text = await readFile(join(workDir, RECORD_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { ok: false, why: "no job record" };
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, why: "the job record is not JSON" };
  }
  const parsed = JobRecord.safeParse(json);
  if (!parsed.success) return { ok: false, why: `the job record is not valid: ${parsed.error.issues[0]?.message ?? "unknown"}` };
  return { ok: true, record: parsed.data };
}

/**
 * One job's record on disk; updates are applied in order, each write whole.
 * Writes are not left to run on their own: `close` waits for the last one
 * and refuses any after, so the job's folder can then go.
 */
export class JobRecordFile {
  private writes: Promise<void> = Promise.resolve();
  /** A write queued behind the one under way, not started yet: every update until it starts rides on it. */
  private queued: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly workDir: string,
    private record: JobRecord,
  ) {}

  get current(): JobRecord {
    return this.record;
  }

  /** Resolves once a write holding this update is done; rejects if it failed. */
  update(patch: Partial<Omit<JobRecord, "v" | "offer">>): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.record = { ...this.record, ...patch };
    // However often it changes (a log cursor per chunk), one write runs and at most one waits.
    this.queued ??= this.queueWrite();
    return this.queued;
  }

  /** Waits for the writes under way and queued, and refuses any after. */
  async close(): Promise<void> {
    this.closed = true;
    await this.writes.catch(() => undefined);
  }

  private queueWrite(): Promise<void> {
    const file = join(this.workDir, RECORD_FILE);
    // Each write carries everything, so one that failed does not stop the next.
    const write = this.writes
      .catch(() => undefined)
      .then(async () => {
        this.queued = undefined;
        await writeFile(`${file}.tmp`, JSON.stringify(this.record), { mode: 0o600 });
        await rename(`${file}.tmp`, file);
      });
    this.writes = write;
    return write;
  }
}
