// A matchmaker Durable Object, one per job class (bindings/sharding.ts). It keeps the
// queue of its class's jobs and a copy of the capacity hubs publish, and decides
// when a round runs (on an alarm, so bursts coalesce); the round itself is
// matching/round.ts, whose offers go to the providers' hubs, which alone reserve.
import { DurableObject } from "cloudflare:workers";
import type { WarmSet } from "../../protocol/hubMessages.ts";
import type { ProviderCapacity, QueuedJob } from "../matching/matcher.ts";
import { MatchStore, type OfferResolution } from "../matching/matchStore.ts";
import { runRound } from "../matching/round.ts";
import { WarmStore } from "../matching/warmStore.ts";
import { getConfig } from "../config/config.ts";
import { jobContextFor } from "../wiring/jobContext.ts";
import { quoteJob, type QuotedJob } from "../matching/quote.ts";
import type { JobQuote } from "../../protocol/quote.ts";

const ROUND_GAP_MS = 50;
const DESCRIBE_EVERY_MS = 1_000;

export class Matchmaker extends DurableObject<Env> {
  private readonly store: MatchStore;
  private readonly warm: WarmStore;
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
    this.warm = new WarmStore(ctx.storage.sql);
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

  /** A provider's free capacity; and, when it (re)advertised, what it holds warm. */
  async upsertProvider(capacity: ProviderCapacity, warm?: WarmSet): Promise<void> {
    this.store.putProvider(capacity);
    if (warm) this.warm.replace(capacity.address, warm);
    this.capacityChanged = true;
    await this.scheduleRound();
  }

  /**
   * What a provider holds warm changed. Only the order in which waiting jobs try providers depends
   * on it, never whether they fit: no round is needed for it. Kept even if its capacity has not
   * landed yet (the two may cross): holders the round does not list are passed over.
   */
  async setWarm(address: string, warm: WarmSet): Promise<void> {
    this.warm.replace(address, warm);
  }

  async removeProvider(address: string): Promise<void> {
    this.store.removeProvider(address);
    this.warm.remove(address);
    this.capacityChanged = true;
    await this.scheduleRound();
  }

  async offerResolved(jobId: string, provider: string, outcome: OfferResolution): Promise<void> {
    const offeredTo = this.store.offeredTo(jobId);
    if (offeredTo === undefined) return;
    if (outcome === "accepted" || outcome === "gone") {
      if (outcome === "accepted") this.store.accepted(provider);
      return this.store.remove(jobId);
    }
    // A late word on an earlier offer (this object's own deadline came first) leaves the one out now alone.
    if (offeredTo !== provider) return;
    // Declined or unanswered: the next provider gets a turn. One that declined for good is not offered this job
    // again; one that was busy, or did not answer (a cut connection, a restart), is offered nothing for a while.
    if (outcome === "declined") this.store.exclude(jobId, provider);
    else this.store.holdOff(jobId, provider, Date.now(), getConfig(this.env).matching.offerTimeoutMs);
    this.capacityChanged = true;
    await this.scheduleRound();
  }

  // ---- reads ----

  /** The providers online as this matchmaker's copy has them (the dashboard's network page). */
  async onlineProviders(): Promise<ProviderCapacity[]> {
    return this.store.providers();
  }

  /** What a job would meet if queued now: the round's own view (capacity and what is warm where), nothing queued. */
  async quote(job: QuotedJob): Promise<JobQuote> {
    return quoteJob(job, this.store.providers(), this.warm.savedBytesForRound());
  }

  // ---- the round ----

  override async alarm(): Promise<void> {
    const now = Date.now();
    this.lastRoundAt = now;
    this.alarmAt = undefined;
    this.roundRequested = false;
    // The hub answers every offer; a deadline passing here means the answer was lost.
    for (const lost of this.store.lostOffers(now)) await this.offerResolved(lost.jobId, lost.provider, "expired");
    // A provider held off may be offered jobs again: every waiting job is looked at.
    if (this.store.liftEndedHoldOffs(now)) this.capacityChanged = true;

    const fullRound = this.capacityChanged;
    this.capacityChanged = false;
    // Saying why jobs wait costs a D1 write: done when capacity changed, else at most once a second.
    const describeDue = this.describeDueAt !== undefined && this.describeDueAt <= now;
    const { unmatched } = await runRound({ store: this.store, warm: this.warm, ctx: jobContextFor(this.env), now, fullRound, describeDue });
    if (fullRound || describeDue) this.describeDueAt = undefined;
    else if (unmatched > 0) this.describeDueAt ??= now + DESCRIBE_EVERY_MS;
    await this.scheduleNextDeadline();
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
