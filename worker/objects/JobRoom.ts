// One Durable Object per job, created on demand: the place live things about a
// job meet. It holds waiters for `Prefer: wait`, the log tail, and the
// server-sent-event streams of `GET /v1/jobs/:id/logs`.
import { DurableObject } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { isTerminal, type JobStatus } from "../../protocol/jobStatus.ts";
import { jobs } from "../db/schema.ts";
import { appendToTail } from "../rooms/logTail.ts";
import { SSE_HEADERS, sseEvent } from "../rooms/sse.ts";
import { dispatchJobEvent } from "../webhooks/outbox.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

/** How often the tail is copied into D1 and a `job.logs` webhook may fire. */
const PERSIST_EVERY_MS = 1_000;
const LOGS_EVENT_EVERY_MS = 5_000;

interface RoomState {
  jobId?: string;
  status?: JobStatus;
  tail: string;
  logSeq: number;
  persistedSeq: number;
  lastLogsEventAt: number;
}

export class JobRoom extends DurableObject<Env> {
  private state: RoomState | undefined;
  private readonly waiters = new Set<(status: JobStatus) => void>();
  private readonly streams = new Set<WritableStreamDefaultWriter<Uint8Array>>();
  private persisting: Promise<void> = Promise.resolve();

  private async load(): Promise<RoomState> {
    this.state ??= (await this.ctx.storage.get<RoomState>("state")) ?? { tail: "", logSeq: 0, persistedSeq: 0, lastLogsEventAt: 0 };
    return this.state;
  }

  private async save(): Promise<void> {
    await this.ctx.storage.put("state", this.state);
  }

  async statusChanged(status: JobStatus): Promise<void> {
    const state = await this.load();
    state.status = status;
    await this.save();
    this.broadcast(sseEvent("status", { status }));
    if (!isTerminal(status)) return;
    for (const resolve of this.waiters) resolve(status);
    this.waiters.clear();
    await this.persistTail();
    this.broadcast(sseEvent("done", { status }));
    for (const writer of this.streams) writer.close().catch(() => undefined);
    this.streams.clear();
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
    state.jobId = jobId;
    state.tail = appendToTail(state.tail, chunk);
    state.logSeq += 1;
    await this.save();
    this.broadcast(sseEvent("log", { data: chunk }, String(state.logSeq)));
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
    if (!state.jobId || state.persistedSeq === state.logSeq) return;
    const { tail, logSeq } = state;
    const ctx = jobContextFor(this.env);
    const [row] = await ctx.db.update(jobs).set({ logsTail: tail }).where(eq(jobs.id, state.jobId)).returning();
    state.persistedSeq = logSeq;
    const now = Date.now();
    const announce = row && !isTerminal(row.status as JobStatus) && now - state.lastLogsEventAt >= LOGS_EVENT_EVERY_MS;
    if (announce) state.lastLogsEventAt = now;
    await this.save();
    // Output that came in during the write is copied on the next alarm.
    if (state.logSeq !== logSeq && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PERSIST_EVERY_MS);
    if (announce) {
      await dispatchJobEvent(ctx, row, "job.logs");
    }
  }

  /** `GET /v1/jobs/:id/logs`: the tail so far, then live output until the job ends. */
  override async fetch(request: Request): Promise<Response> {
    const state = await this.load();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const initialTail = new URL(request.url).searchParams.get("tail") ?? "";
    const tail = state.tail.length > 0 ? state.tail : initialTail;
    if (tail.length > 0) void writer.write(sseEvent("log", { data: tail }, String(state.logSeq)));
    if (state.status && isTerminal(state.status)) {
      void writer.write(sseEvent("done", { status: state.status }));
      void writer.close();
    } else {
      this.streams.add(writer);
      writer.closed.catch(() => this.streams.delete(writer));
    }
    return new Response(readable, { headers: SSE_HEADERS });
  }

  private broadcast(event: Uint8Array): void {
    for (const writer of this.streams) {
      // A reader that went away fails its write; it is dropped, the others carry on.
      writer.write(event).catch(() => this.streams.delete(writer));
    }
  }
}
