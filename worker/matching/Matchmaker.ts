// A matchmaker Durable Object, one per job class (jobClass.ts). It keeps the
// queue of its class's jobs and a copy of the capacity hubs publish, runs the
// pure matcher in rounds (on an alarm, so bursts coalesce), and sends each
// assignment to the provider's hub, which alone reserves capacity for real.
import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { Resources } from "../../protocol/jobSpec.ts";
import { getConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import type { Env } from "../env.ts";
import { hubFor } from "../hub/shard.ts";
import { IllegalTransitionError } from "../jobs/stateMachine.ts";
import { JobNotFoundError, setStatusDetail, transitionJob } from "../jobs/transitions.ts";
import { explainNeverFits, matchJobs, type ProviderCapacity, type QueuedJob } from "./matcher.ts";

const WAITING_DETAIL = "waiting for a provider with free capacity";

const StoredJob = z.object({
  id: z.string(),
  resources: Resources,
  maxPriceWei: z.string(),
  timeoutS: z.int(),
  matchDeadline: z.number(),
});
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
});

interface QueueRow {
  job: QueuedJob;
  offeredTo: string | null;
  offerDeadline: number | null;
  detail: string | null;
}

export class Matchmaker extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** Set by every input; a round that ends with it set was overtaken and runs again. */
  private roundRequested = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS queue (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL UNIQUE, job TEXT NOT NULL,
      excluded TEXT NOT NULL DEFAULT '[]', offered_to TEXT, offer_deadline INTEGER, detail TEXT)`);
    this.sql.exec("CREATE TABLE IF NOT EXISTS providers (address TEXT PRIMARY KEY, capacity TEXT NOT NULL)");
  }

  // ---- inputs ----

  async enqueue(job: QueuedJob): Promise<void> {
    const stored = { ...job, maxPriceWei: job.maxPriceWei.toString(), excluded: undefined };
    // Requeued jobs arrive again: a fresh entry, with a clean slate of exclusions.
    this.sql.exec("DELETE FROM queue WHERE job_id = ?", job.id);
    this.sql.exec("INSERT INTO queue (job_id, job) VALUES (?, ?)", job.id, JSON.stringify(stored));
    await this.scheduleRound();
  }

  /** Like enqueue, but leaves a job that is already here (and its offers and exclusions) alone. */
  async ensureQueued(job: QueuedJob): Promise<void> {
    const exists = this.sql.exec("SELECT 1 FROM queue WHERE job_id = ?", job.id).toArray().length > 0;
    if (!exists) await this.enqueue(job);
  }

  async forget(jobId: string): Promise<void> {
    this.sql.exec("DELETE FROM queue WHERE job_id = ?", jobId);
  }

  async upsertProvider(capacity: ProviderCapacity): Promise<void> {
    const stored = { ...capacity, gpuSecondWei: capacity.gpuSecondWei.toString(), cpuSecondWei: capacity.cpuSecondWei.toString() };
    this.sql.exec(
      "INSERT INTO providers (address, capacity) VALUES (?, ?) ON CONFLICT(address) DO UPDATE SET capacity = excluded.capacity",
      capacity.address,
      JSON.stringify(stored),
    );
    await this.scheduleRound();
  }

  async removeProvider(address: string): Promise<void> {
    this.sql.exec("DELETE FROM providers WHERE address = ?", address);
    await this.scheduleRound();
  }

  async offerResolved(jobId: string, provider: string, outcome: "accepted" | "declined" | "expired" | "gone"): Promise<void> {
    const row = this.sql.exec("SELECT excluded, offered_to FROM queue WHERE job_id = ?", jobId).toArray()[0];
    if (!row) return;
    if (outcome === "accepted" || outcome === "gone") {
      this.sql.exec("DELETE FROM queue WHERE job_id = ?", jobId);
      return;
    }
    // Declined or unanswered: the next provider gets a turn.
    const excluded = new Set(z.array(z.string()).parse(JSON.parse(String(row.excluded))));
    excluded.add(provider);
    this.sql.exec("UPDATE queue SET excluded = ?, offered_to = NULL, offer_deadline = NULL WHERE job_id = ?", JSON.stringify([...excluded]), jobId);
    await this.scheduleRound();
  }

  /** How many jobs wait here, and how many are out on offer (for tests and operators). */
  async stats(): Promise<{ queued: number; offered: number; providers: number }> {
    const q = this.sql.exec("SELECT COUNT(*) AS n, COUNT(offered_to) AS o FROM queue").one();
    const p = this.sql.exec("SELECT COUNT(*) AS n FROM providers").one();
    return { queued: Number(q.n), offered: Number(q.o), providers: Number(p.n) };
  }

  // ---- the round ----

  override async alarm(): Promise<void> {
    const config = getConfig(this.env);
    const now = Date.now();
    this.roundRequested = false;
    // The hub answers every offer; a deadline passing here means the answer was lost.
    const lostOffers = this.sql.exec("SELECT job_id, offered_to FROM queue WHERE offer_deadline <= ?", now).toArray();
    for (const lost of lostOffers) await this.offerResolved(String(lost.job_id), String(lost.offered_to), "expired");
    const rows = this.loadQueue();
    const providers = this.loadProviders();

    const waiting: QueueRow[] = [];
    for (const row of rows) {
      if (row.offeredTo !== null) continue;
      if (row.job.matchDeadline <= now) await this.failUnmatched(row.job, providers);
      else waiting.push(row);
    }

    const { assignments, unmatched } = matchJobs(
      providers,
      waiting.map((row) => row.job),
    );
    const offerDeadline = now + 2 * config.matching.offerTimeoutMs + 1_000;
    await Promise.all(
      assignments.map(async (assignment) => {
        const outcome = await hubFor(this.env, config, assignment.provider).offer(assignment);
        if (outcome.ok) {
          this.sql.exec("UPDATE queue SET offered_to = ?, offer_deadline = ? WHERE job_id = ?", assignment.provider, offerDeadline, assignment.jobId);
        } else if (outcome.jobGone) {
          this.sql.exec("DELETE FROM queue WHERE job_id = ?", assignment.jobId);
        } else if (outcome.providerGone) {
          this.sql.exec("DELETE FROM providers WHERE address = ?", assignment.provider);
        }
      }),
    );

    await this.describeWaiting(waiting.filter((row) => unmatched.includes(row.job.id)), providers);
    await this.scheduleNextDeadline();
  }

  /** Keeps each waiting job's status detail saying why it waits. Written only when it changes. */
  private async describeWaiting(rows: QueueRow[], providers: ProviderCapacity[]): Promise<void> {
    const db = createDb(this.env.DB);
    for (const row of rows) {
      const detail = explainNeverFits(row.job, providers) ?? WAITING_DETAIL;
      if (detail === row.detail) continue;
      this.sql.exec("UPDATE queue SET detail = ? WHERE job_id = ?", detail, row.job.id);
      await setStatusDetail(db, row.job.id, "queued", detail);
    }
  }

  private async failUnmatched(job: QueuedJob, providers: ProviderCapacity[]): Promise<void> {
    const config = getConfig(this.env);
    const reason = explainNeverFits(job, providers);
    const error = `the network had no capacity for this job within its match timeout${reason ? `: ${reason}` : ""}`;
    this.sql.exec("DELETE FROM queue WHERE job_id = ?", job.id);
    try {
      await transitionJob({ env: this.env, db: createDb(this.env.DB), config, baseUrl: config.publicUrl ?? "" }, job.id, "failed", { error }, "matchmaker");
    } catch (cause) {
      if (!(cause instanceof IllegalTransitionError || cause instanceof JobNotFoundError)) throw cause;
    }
  }

  private async scheduleRound(): Promise<void> {
    this.roundRequested = true;
    const current = await this.ctx.storage.getAlarm();
    const now = Date.now();
    if (current === null || current > now) await this.ctx.storage.setAlarm(now);
  }

  private async scheduleNextDeadline(): Promise<void> {
    // Something changed while this round ran: run another at once.
    if (this.roundRequested) return this.ctx.storage.setAlarm(Date.now());
    const row = this.sql
      .exec("SELECT MIN(COALESCE(offer_deadline, json_extract(job, '$.matchDeadline'))) AS at FROM queue")
      .toArray()[0];
    if (row?.at !== null && row?.at !== undefined) await this.ctx.storage.setAlarm(Number(row.at));
  }

  private loadQueue(): QueueRow[] {
    return this.sql
      .exec("SELECT job, excluded, offered_to, offer_deadline, detail FROM queue ORDER BY seq")
      .toArray()
      .map((row) => {
        const stored = StoredJob.parse(JSON.parse(String(row.job)));
        return {
          job: { ...stored, maxPriceWei: BigInt(stored.maxPriceWei), excluded: z.array(z.string()).parse(JSON.parse(String(row.excluded))) },
          offeredTo: row.offered_to === null ? null : String(row.offered_to),
          offerDeadline: row.offer_deadline === null ? null : Number(row.offer_deadline),
          detail: row.detail === null ? null : String(row.detail),
        };
      });
  }

  private loadProviders(): ProviderCapacity[] {
    return this.sql
      .exec("SELECT capacity FROM providers")
      .toArray()
      .map((row) => {
        const stored = StoredCapacity.parse(JSON.parse(String(row.capacity)));
        return { ...stored, gpuSecondWei: BigInt(stored.gpuSecondWei), cpuSecondWei: BigInt(stored.cpuSecondWei) };
      });
  }
}
