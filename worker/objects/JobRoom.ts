// One Durable Object per job, created on demand: the place live things about a
// job meet. It holds waiters for `Prefer: wait`, the job's numbered events in a
// bounded buffer (rooms/logBuffer.ts), the server-sent-event streams of
// `GET /v1/jobs/:id/logs` (rooms/followers.ts, rooms/logStream.ts), and the
// metrics the job reports in its output (rooms/reportedMetrics.ts).
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { logLimits } from "../../protocol/limits.ts";
import type { ReportedMetrics } from "../../protocol/reportedMetrics.ts";
import { jobs } from "../db/schema.ts";
import { apiErrorData, tooManyRequests, type ApiErrorData } from "../errors/problem.ts";
import { Followers } from "../rooms/followers.ts";
import { LogBuffer } from "../rooms/logBuffer.ts";
import { openingFor, type OpeningRequest } from "../rooms/logStream.ts";
import { ReportedMetricsStore } from "../rooms/reportedMetrics.ts";
import { sseEvent } from "../rooms/sse.ts";
import { dispatchJobEvent } from "../webhooks/outbox.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

/** How often the tail is copied into D1 and a `job.logs` webhook may fire. */
const PERSIST_EVERY_MS = 1_000;
const LOGS_EVENT_EVERY_MS = 5_000;

interface RoomState {
  jobId?: string;
  status?: JobStatus;
  /** The newest output (by event number) whose tail is in the job row. */
  persistedSeq: number;
  lastLogsEventAt: number;
}

/** What the room answers a reader of the log: a stream, nothing more to send (204), or a refusal. */
export type LogStreamAnswer = { kind: "stream"; body: ReadableStream<Uint8Array> } | { kind: "nothing-left" } | { kind: "refused"; error: ApiErrorData };

export class JobRoom extends DurableObject<Env> {
  private state: RoomState | undefined;
  private readonly buffer: LogBuffer;
  private reportedStore: ReportedMetricsStore | undefined;
  private readonly followers = new Followers();
  private readonly waiters = new Set<(status: JobStatus) => void>();
  private persisting: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.buffer = new LogBuffer(ctx.storage.sql);
  }

  private async load(): Promise<RoomState> {
    this.state ??= (await this.ctx.storage.get<RoomState>("state")) ?? { persistedSeq: 0, lastLogsEventAt: 0 };
    return this.state;
  }

  private async save(): Promise<void> {
    await this.ctx.storage.put("state", this.state);
  }

  /** Made on first use, so that whatever it meets in storage, the log and the waiters go on without it. */
  private get reported(): ReportedMetricsStore {
    this.reportedStore ??= new ReportedMetricsStore(this.ctx.storage.sql, (body) => this.ctx.storage.transactionSync(body));
    return this.reportedStore;
  }

  async statusChanged(status: JobStatus): Promise<void> {
    const state = await this.load();
    // A requeued job's next attempt starts its output afresh. Only a requeue reaches the room as
    // `queued` (a new job skips it), so a job's usual start does not open the metrics store.
    if (status === "queued") this.reportedSafely((reported) => reported.lineBreak());
    // The whole output is in the job's row before anyone hears the job ended (a waiter reads the row next, and one
    // that comes later is answered at once): after a periodic copy under way, which may have missed the last line.
    if (isTerminal(status)) await this.persistTail();
    state.status = status;
    await this.save();
    const seq = this.buffer.append("status", status);
    this.followers.send(sseEvent("status", { status }, seq), seq);
    if (!isTerminal(status)) return;
    for (const resolve of this.waiters) resolve(status);
    this.waiters.clear();
    this.followers.end(sseEvent("done", { status }, this.buffer.lastSeq));
  }

  /** Resolves with the terminal status, or undefined if the job is still running after `timeoutMs`. */
  async waitForTerminal(timeoutMs: number): Promise<JobStatus | undefined> {
    const state = await this.load();
    if (state.status && isTerminal(state.status)) return state.status;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(done);
        resolve(undefined);
      }, timeoutMs);
      const done = (status: JobStatus) => {
        clearTimeout(timer);
        resolve(status);
      };
      this.waiters.add(done);
    });
  }

  /** A chunk of the job's output, from its provider via the hub. */
  async appendLogs(jobId: string, chunk: string): Promise<void> {
    const state = await this.load();
    if (state.jobId !== jobId) {
      state.jobId = jobId;
      await this.save();
    }
    const seq = this.buffer.append("log", chunk);
    this.followers.send(sseEvent("log", { data: chunk }, seq), seq);
    this.reportedSafely((reported) => reported.ingest(chunk, Date.now()));
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null) await this.ctx.storage.setAlarm(Date.now() + PERSIST_EVERY_MS);
  }

  override async alarm(): Promise<void> {
    await this.persistTail();
  }

  /**
   * Copies the tail into the job row, and announces new output at most every few seconds.
   * Copies run one at a time, each writing what it read before its own D1 call: a chunk
   * that arrives during a write is not marked saved, and an older copy never lands last.
   */
  private persistTail(): Promise<void> {
    const run = this.persisting.then(() => this.copyTail());
    this.persisting = run.catch(() => undefined);
    return run;
  }

  private async copyTail(): Promise<void> {
    const state = await this.load();
    const logSeq = this.buffer.lastLogSeq;
    if (!state.jobId || state.persistedSeq === logSeq) return;
    const tail = this.buffer.tail();
    const ctx = jobContextFor(this.env);
    const reportedMetrics = this.reportedSafely((reported) => reported.latest());
    const [row] = await ctx.db
      .update(jobs)
      .set({ logsTail: tail, ...(reportedMetrics ? { reportedMetrics } : {}) })
      .where(eq(jobs.id, state.jobId)).returning();
    state.persistedSeq = logSeq;
    const now = Date.now();
    const announce = row && !isTerminal(row.status as JobStatus) && now - state.lastLogsEventAt >= LOGS_EVENT_EVERY_MS;
    if (announce) state.lastLogsEventAt = now;
    await this.save();
    // Output that came in during the write is copied on the next alarm.
    if (this.buffer.lastLogSeq !== logSeq && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PERSIST_EVERY_MS);
    if (announce) {
      await dispatchJobEvent(ctx, row, "job.logs");
    }
  }

  /** `GET /v1/jobs/:id/reported-metrics`: each name's kept points (of `names`, when given). */
  async reportedSeries(names?: string[]): Promise<Omit<ReportedMetrics, "job_id">> {
    return this.reported.series(names);
  }

  /** The log is kept, and the job's end told, whatever its metric lines hold: a failure there is logged, not thrown. */
  private reportedSafely<T>(use: (reported: ReportedMetricsStore) => T): T | undefined {
    try {
      return use(this.reported);
    } catch (error) {
      console.error(`job room ${this.state?.jobId ?? this.ctx.id.toString()}: reported metrics: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  /** `GET /v1/jobs/:id/logs`: the events the reader has not seen, then live ones until the job ends. */
  async openLogStream(request: Omit<OpeningRequest, "status"> & { storedStatus: JobStatus }): Promise<LogStreamAnswer> {
    const state = await this.load();
    // The job row ends first; the room hears of it a moment later (or, if that was lost, never).
    const status = isTerminal(request.storedStatus) && !(state.status && isTerminal(state.status)) ? request.storedStatus : state.status;
    const opening = openingFor(this.buffer, { status, storedTail: request.storedTail, lastEventId: request.lastEventId });
    if (opening.kind === "nothing-left") return opening;
    if (!opening.live) return { kind: "stream", body: new Blob(opening.chunks).stream() };
    if (this.followers.full) {
      const refusal = tooManyRequests(`this job's log already has ${logLimits.roomFollowers} live readers; close one, or read the job's stored tail (logs)`, 5);
      return { kind: "refused", error: apiErrorData(refusal) };
    }
    return { kind: "stream", body: this.followers.open(opening.chunks, opening.lastId) };
  }
}
