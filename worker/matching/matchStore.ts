// A matchmaker's durable state, in its Durable Object's SQLite: the queue of
// its class's jobs (FIFO) and its copy of the providers' published capacity.
import { z } from "zod";
import { Resources } from "../../protocol/jobSpec.ts";
import { HoldOffs } from "./holdOffs.ts";
import type { ProviderCapacity, QueuedJob } from "./matcher.ts";

/**
 * How an offer a matchmaker made ended, as the provider's hub reports it: "busy" is a decline for
 * now (the provider's room still in use), "declined" one for good.
 */
export type OfferResolution = "accepted" | "declined" | "busy" | "expired" | "gone";

export interface QueueRow {
  job: QueuedJob;
  offeredTo: string | null;
  detail: string | null;
}

const WarmKeys = z.object({ image: z.string().optional(), inputs: z.array(z.object({ sha256: z.string(), size: z.number() })).optional() });
const StoredJob = z.object({ id: z.string(), resources: Resources, maxPriceWei: z.string(), timeoutS: z.int(), matchDeadline: z.number(), warm: WarmKeys.optional(), needsEgress: z.boolean().optional() });
const GpuSlotShape = z.object({ uuid: z.string(), index: z.int(), model: z.string(), vramMb: z.number() });
const StoredCapacity = z.object({
  address: z.string(),
  freeGpus: z.array(GpuSlotShape),
  freeMilliCpus: z.number(),
  freeMemoryMb: z.number(),
  totalGpus: z.array(GpuSlotShape),
  totalMilliCpus: z.number(),
  totalMemoryMb: z.number(),
  gpuSecondWei: z.string(),
  cpuSecondWei: z.string(),
  reputation: z.number(),
  egress: z.boolean().optional(),
});
const Addresses = z.array(z.string());

/**
 * The queries every round makes, each answered from an index (test/worker/matching/matchStore.test.ts
 * checks their plans): a queue thousands of jobs long must not be read whole 20 times a second.
 */
export const ROUND_QUERIES = {
  lostOffers: "SELECT job_id, offered_to FROM queue WHERE offer_deadline <= ?",
  // By deadline, not by seq: ordered by seq, SQLite reads the whole queue rather than sort the few overdue jobs.
  overdue: "SELECT job, excluded, offered_to, detail FROM queue WHERE match_deadline <= ? AND offered_to IS NULL ORDER BY match_deadline, seq",
  nextOfferDeadline: "SELECT MIN(offer_deadline) AS at FROM queue WHERE offer_deadline IS NOT NULL",
  nextMatchDeadline: "SELECT MIN(match_deadline) AS at FROM queue WHERE offered_to IS NULL",
} as const;

export class MatchStore {
  private providerCache: Map<string, ProviderCapacity> | undefined;
  private readonly holdOffs: HoldOffs;

  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS queue (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL UNIQUE, job TEXT NOT NULL,
      match_deadline INTEGER NOT NULL, excluded TEXT NOT NULL DEFAULT '[]', offered_to TEXT,
      offer_deadline INTEGER, detail TEXT, fresh INTEGER NOT NULL DEFAULT 1)`);
    sql.exec("CREATE INDEX IF NOT EXISTS queue_fresh ON queue(fresh)");
    // Every round asks for the next deadline, overdue jobs and lost offers: with these, none reads the whole queue.
    sql.exec("DROP INDEX IF EXISTS queue_match_deadline");
    sql.exec("CREATE INDEX IF NOT EXISTS queue_waiting_deadline ON queue(match_deadline) WHERE offered_to IS NULL");
    sql.exec("CREATE INDEX IF NOT EXISTS queue_offer_deadline ON queue(offer_deadline) WHERE offer_deadline IS NOT NULL");
    sql.exec("CREATE INDEX IF NOT EXISTS queue_undescribed ON queue(detail) WHERE detail IS NULL");
    sql.exec("CREATE TABLE IF NOT EXISTS providers (address TEXT PRIMARY KEY, capacity TEXT NOT NULL)");
    this.holdOffs = new HoldOffs(sql);
  }

  has(jobId: string): boolean {
    return this.sql.exec("SELECT 1 FROM queue WHERE job_id = ?", jobId).toArray().length > 0;
  }

  /** (Re)queues a job at the back, with no exclusions: a requeued job starts afresh. */
  put(job: QueuedJob): void {
    const stored = { id: job.id, resources: job.resources, maxPriceWei: job.maxPriceWei.toString(), timeoutS: job.timeoutS, matchDeadline: job.matchDeadline, ...(job.warm ? { warm: job.warm } : {}), ...(job.needsEgress ? { needsEgress: true } : {}) };
    if (this.has(job.id)) this.sql.exec("DELETE FROM queue WHERE job_id = ?", job.id);
    this.sql.exec("INSERT INTO queue (job_id, job, match_deadline) VALUES (?, ?, ?)", job.id, JSON.stringify(stored), job.matchDeadline);
  }

  remove(jobId: string): void {
    this.sql.exec("DELETE FROM queue WHERE job_id = ?", jobId);
  }

  offered(jobId: string, provider: string, deadline: number): void {
    this.sql.exec("UPDATE queue SET offered_to = ?, offer_deadline = ? WHERE job_id = ?", provider, deadline, jobId);
  }

  offeredTo(jobId: string): string | null | undefined {
    const row = this.sql.exec("SELECT offered_to FROM queue WHERE job_id = ?", jobId).toArray()[0];
    return row === undefined ? undefined : row.offered_to === null ? null : String(row.offered_to);
  }

  /** The offer came to nothing: that provider is not asked again; the job waits for the next round. */
  exclude(jobId: string, provider: string): void {
    const row = this.sql.exec("SELECT excluded FROM queue WHERE job_id = ?", jobId).toArray()[0];
    if (!row) return;
    const excluded = new Set(Addresses.parse(JSON.parse(String(row.excluded))));
    excluded.add(provider);
    this.sql.exec("UPDATE queue SET excluded = ?, offered_to = NULL, offer_deadline = NULL WHERE job_id = ?", JSON.stringify([...excluded]), jobId);
  }

  /**
   * The offer came to nothing for now (busy, unanswered): the job waits for the next round, and the provider
   * is offered nothing for a while (holdOffs.ts).
   */
  holdOff(jobId: string, provider: string, now: number, baseMs: number): void {
    this.sql.exec("UPDATE queue SET offered_to = NULL, offer_deadline = NULL WHERE job_id = ?", jobId);
    this.holdOffs.hold(provider, now, baseMs);
  }

  /** The provider accepted an offer: whatever it was held off for is behind it. */
  accepted(provider: string): void {
    this.holdOffs.forget(provider);
  }

  /** Lifts the hold-offs that ended by `now`; true if any was (every waiting job must then be looked at again). */
  liftEndedHoldOffs(now: number): boolean {
    return this.holdOffs.liftEnded(now);
  }

  setDetail(jobId: string, detail: string): void {
    this.sql.exec("UPDATE queue SET detail = ? WHERE job_id = ?", detail, jobId);
  }

  markSeen(): void {
    this.sql.exec("UPDATE queue SET fresh = 0 WHERE fresh = 1");
  }

  lostOffers(now: number): Array<{ jobId: string; provider: string }> {
    return this.sql
      .exec(ROUND_QUERIES.lostOffers, now)
      .toArray()
      .map((row) => ({ jobId: String(row.job_id), provider: String(row.offered_to) }));
  }

  /** Jobs not out on offer, oldest first; only those never considered when `freshOnly`. */
  waiting(freshOnly: boolean): QueueRow[] {
    return this.rows(`SELECT job, excluded, offered_to, detail FROM queue WHERE offered_to IS NULL ${freshOnly ? "AND fresh = 1" : ""} ORDER BY seq`);
  }

  /** Waiting jobs whose status detail was never written. */
  undescribed(): QueueRow[] {
    return this.rows("SELECT job, excluded, offered_to, detail FROM queue WHERE detail IS NULL AND offered_to IS NULL ORDER BY seq");
  }

  /** Jobs not out on offer whose match deadline has passed. */
  overdue(now: number): QueueRow[] {
    return this.rows(ROUND_QUERIES.overdue, now);
  }

  private rows(query: string, ...bindings: SqlStorageValue[]): QueueRow[] {
    return this.sql
      .exec(query, ...bindings)
      .toArray()
      .map((row) => {
        const stored = StoredJob.parse(JSON.parse(String(row.job)));
        return {
          job: { ...stored, maxPriceWei: BigInt(stored.maxPriceWei), excluded: Addresses.parse(JSON.parse(String(row.excluded))) },
          offeredTo: null,
          detail: row.detail === null ? null : String(row.detail),
        };
      });
  }

  /**
   * The earliest of the offers' deadlines, the waiting jobs' match deadlines (an offered job's match
   * deadline waits on its offer) and the ends of hold-offs.
   */
  nextDeadline(): number | undefined {
    const earliest = [ROUND_QUERIES.nextOfferDeadline, ROUND_QUERIES.nextMatchDeadline]
      .map((query) => this.sql.exec(query).toArray()[0]?.at)
      .filter((at) => at !== null && at !== undefined)
      .map(Number);
    const holdOffEnd = this.holdOffs.nextEnd();
    if (holdOffEnd !== undefined) earliest.push(holdOffEnd);
    return earliest.length > 0 ? Math.min(...earliest) : undefined;
  }

  putProvider(capacity: ProviderCapacity): void {
    const stored = { ...capacity, gpuSecondWei: capacity.gpuSecondWei.toString(), cpuSecondWei: capacity.cpuSecondWei.toString() };
    this.sql.exec(
      "INSERT INTO providers (address, capacity) VALUES (?, ?) ON CONFLICT(address) DO UPDATE SET capacity = excluded.capacity",
      capacity.address,
      JSON.stringify(stored),
    );
    this.providerCache?.set(capacity.address, { ...capacity });
  }

  removeProvider(address: string): void {
    this.sql.exec("DELETE FROM providers WHERE address = ?", address);
    this.providerCache?.delete(address);
  }

  /** Every provider's capacity (callers copy before they change one: the matcher does). */
  providers(): ProviderCapacity[] {
    return [...this.cachedProviders().values()];
  }

  /** The providers a round may offer jobs to: every one not held off. */
  providersToOffer(): ProviderCapacity[] {
    const heldOff = this.holdOffs.current();
    const all = this.providers();
    return heldOff.size === 0 ? all : all.filter((provider) => !heldOff.has(provider.address));
  }

  /**
   * The providers table, read and parsed once per object and then kept in step by putProvider and
   * removeProvider: every round read and parsed every row (15% of the Worker's JavaScript at 1,000 providers, bench:fleet).
   */
  private cachedProviders(): Map<string, ProviderCapacity> {
    if (this.providerCache) return this.providerCache;
    this.providerCache = new Map();
    for (const row of this.sql.exec("SELECT capacity FROM providers").toArray()) {
      const stored = StoredCapacity.parse(JSON.parse(String(row.capacity)));
      this.providerCache.set(stored.address, { ...stored, gpuSecondWei: BigInt(stored.gpuSecondWei), cpuSecondWei: BigInt(stored.cpuSecondWei) });
    }
    return this.providerCache;
  }
}
