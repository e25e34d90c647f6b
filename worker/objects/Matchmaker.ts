// A matchmaker Durable Object, one per job class (bindings/sharding.ts). It keeps the
// queue of its class's jobs and a copy of the capacity hubs publish, runs the
// pure matcher in rounds (on an alarm, so bursts coalesce), and sends each
// assignment to the provider's hub, which alone reserves capacity for real.
import { DurableObject } from "cloudflare:workers";
import { and, eq, inArray } from "drizzle-orm";
import { hubOf } from "../bindings/objects.ts";
import { getConfig } from "../config/config.ts";
import type { OfferResolution } from "../hub/matchmakers.ts";
import { createDb } from "../db/client.ts";
import { jobs } from "../db/schema.ts";
import { transitionIfStill } from "../jobs/transitions.ts";
import { MatchStore, type QueueRow } from "../matching/matchStore.ts";
import { explainNeverFits, matchJobs, type ProviderCapacity, type QueuedJob } from "../matching/matcher.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

const WAITING_DETAIL = "waiting for a provider with free capacity";
const ROUND_GAP_MS = 50;
const DESCRIBE_EVERY_MS = 1_000;

export class Matchmaker extends DurableObject<Env> {
  private readonly store: MatchStore;
  /** Set by every input; a round that ends with it set was overtaken and runs again. */
  private roundRequested = false;
  /**
   * Whether capacity changed (or an offer fell through) since the last round.
   * If not, jobs that did not fit then still do not fit, and only new ones
   * need matching. Starts true: after a restart nothing is assumed.
   */
  private capacityChanged = true;
  private lastRoundAt = 0;
  /** When the pending alarm fires, as far as this instance knows (saves a storage read per input). */
  private alarmAt: number | undefined;
  /** Waiting jobs get their "why" written at most this often (it costs a D1 write). */
  private describeDueAt: number | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new MatchStore(ctx.storage.sql);
  }

  // ---- inputs ----

  async enqueue(job: QueuedJob): Promise<void> {
    this.store.put(job);
    await this.scheduleRound();
  }

  /** Like enqueue, but leaves a job that is already here (and its offers and exclusions) alone. */
  async ensureQueued(job: QueuedJob): Promise<void> {
    if (!this.store.has(job.id)) await this.enqueue(job);
  }

  async forget(jobId: string): Promise<void> {
    this.store.remove(jobId);
  }

  async upsertProvider(capacity: ProviderCapacity): Promise<void> {
    this.store.putProvider(capacity);
    this.capacityChanged = true;
    await this.scheduleRound();
  }

  async removeProvider(address: string): Promise<void> {
    this.store.removeProvider(address);
    this.capacityChanged = true;
    await this.scheduleRound();
  }

  async offerResolved(jobId: string, provider: string, outcome: OfferResolution): Promise<void> {
    if (this.store.offeredTo(jobId) === undefined) return;
    if (outcome === "accepted" || outcome === "gone") return this.store.remove(jobId);
    // Declined or unanswered: the next provider gets a turn.
    this.store.exclude(jobId, provider);
    this.capacityChanged = true;
    await this.scheduleRound();
  }

  // ---- reads ----

  /** The providers online as this matchmaker's copy has them (the dashboard's network page). */
  async onlineProviders(): Promise<ProviderCapacity[]> {
    return this.store.providers();
  }

  // ---- the round ----

  override async alarm(): Promise<void> {
    const config = getConfig(this.env);
    const now = Date.now();
    this.lastRoundAt = now;
    this.alarmAt = undefined;
    this.roundRequested = false;
    // The hub answers every offer; a deadline passing here means the answer was lost.
    for (const lost of this.store.lostOffers(now)) await this.offerResolved(lost.jobId, lost.provider, "expired");

    const fullRound = this.capacityChanged;
    this.capacityChanged = false;
    const providers = this.store.providers();
    for (const row of this.store.overdue(now)) await this.failUnmatched(row.job, providers);
    const waiting = this.store.waiting(!fullRound);
    this.store.markSeen();

    const { assignments, unmatched } = matchJobs(
      providers,
      waiting.map((row) => row.job),
    );
    const offerDeadline = now + 2 * config.matching.offerTimeoutMs + 1_000;
    await Promise.all(
      assignments.map(async (assignment) => {
        const outcome = await hubOf(this.env, config, assignment.provider).offer(assignment);
        if (outcome.ok) this.store.offered(assignment.jobId, assignment.provider, offerDeadline);
        else if (outcome.jobGone) this.store.remove(assignment.jobId);
        else if (outcome.providerGone) this.store.removeProvider(assignment.provider);
        // Otherwise the hub's view was fresher than ours; it has republished, and the next round retries.
      }),
    );

    // Saying why jobs wait costs a D1 write: done when capacity changed, else at most once a second.
    if (fullRound || (this.describeDueAt !== undefined && this.describeDueAt <= now)) {
      const left = new Set(unmatched);
      // Capacity unchanged: only jobs never described can need a (first) description.
      const rows = fullRound ? waiting.filter((row) => left.has(row.job.id)) : this.store.undescribed();
      await this.describeWaiting(rows, providers);
      this.describeDueAt = undefined;
    } else if (unmatched.length > 0) {
      this.describeDueAt ??= now + DESCRIBE_EVERY_MS;
    }
    await this.scheduleNextDeadline();
  }

  /** Keeps each waiting job's status detail saying why it waits: one D1 batch, only for details that changed. */
  private async describeWaiting(rows: QueueRow[], providers: ProviderCapacity[]): Promise<void> {
    const changed = new Map<string, string[]>();
    for (const row of rows) {
      const detail = explainNeverFits(row.job, providers) ?? WAITING_DETAIL;
      if (detail === row.detail) continue;
      this.store.setDetail(row.job.id, detail);
      changed.set(detail, [...(changed.get(detail) ?? []), row.job.id]);
    }
    if (changed.size === 0) return;
    const db = createDb(this.env.DB);
    const updates = [...changed].flatMap(([detail, ids]) =>
      chunks(ids, 90).map((chunk) => db.update(jobs).set({ statusDetail: detail }).where(and(inArray(jobs.id, chunk), eq(jobs.status, "queued")))),
    );
    await db.batch(updates as [(typeof updates)[number], ...typeof updates]);
  }

  private async failUnmatched(job: QueuedJob, providers: ProviderCapacity[]): Promise<void> {
    const reason = explainNeverFits(job, providers);
    const error = `the network had no capacity for this job within its match timeout${reason ? `: ${reason}` : ""}`;
    this.store.remove(job.id);
    await transitionIfStill(jobContextFor(this.env), job.id, "failed", { error }, "matchmaker");
  }

  private async scheduleRound(): Promise<void> {
    this.roundRequested = true;
    // Rounds at most every ROUND_GAP_MS: a burst of inputs is matched together.
    const at = Math.max(Date.now(), this.lastRoundAt + ROUND_GAP_MS);
    if (this.alarmAt !== undefined && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private async setAlarm(at: number): Promise<void> {
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  private async scheduleNextDeadline(): Promise<void> {
    // Something changed while this round ran: run another at once.
    if (this.roundRequested) return this.setAlarm(Date.now() + ROUND_GAP_MS);
    const next = [this.store.nextDeadline(), this.describeDueAt].filter((t): t is number => t !== undefined).sort((a, b) => a - b)[0];
    if (next !== undefined) await this.setAlarm(next);
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

