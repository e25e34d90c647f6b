// What all job work runs with, and the ports a transition is announced through.
// jobs/ defines them; wiring/jobContext.ts plugs in webhooks, the job's room,
// matching and the chain, so this folder imports none of them.
import type { SQL } from "drizzle-orm";
import type { JobStatus } from "../../protocol/jobStatus.ts";
import type { WebhookEventType } from "../../protocol/webhookEvents.ts";
import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";
import type { JobRow } from "./serialize.ts";

/** Who caused a transition, so its follow-ups skip the one who already knows. */
/** "pipeline": a job whose input comes from another job, failed because that job did (inputResolution.ts). */
export type TransitionOrigin = "api" | "hub" | "matchmaker" | "sweeper" | "chain" | "pipeline" | "judge";

/** A status change, once written. */
export interface Transition {
  /** The job as it is now. */
  row: JobRow;
  /** Null for a job just created. */
  from: JobStatus | null;
  origin: TransitionOrigin;
  /** Its job_transitions row; `dispatchedAt` null means webhook deliveries are still owed. */
  record: { id: number; dispatchedAt: number | null } | undefined;
  /** For a job that ended: the jobs whose inputs come from it, read in the batch that wrote its end. */
  dependents?: string[];
}

/** Hears of every transition after it is written; a failure is logged and never undoes it. */
export type TransitionListener = (ctx: JobContext, transition: Transition) => Promise<void>;

/** Who an event of a job could go to: its account's endpoints and its own `webhook`. */
export interface EventAudience {
  /** The owning account, or SQL that yields it inside the same batch. */
  account: string | SQL;
  webhook: string | null;
  webhookEventsFilter: readonly string[];
}

/** The outbox side of a transition, decided inside the batch that writes it (webhooks/outbox.ts). */
export interface TransitionOutbox {
  /** SQL for `dispatched_at`: the time when nobody listens for `event`, NULL when a delivery is owed. */
  dispatchedAtSql(event: WebhookEventType | undefined, audience: EventAudience, now: number): SQL;
}

export interface JobContext {
  env: Env;
  db: Db;
  config: Config;
  /** Origin used in links (PUBLIC_URL, else the request's own). */
  baseUrl: string;
  /** Where follow-up work goes when the caller must not wait for it (ctx.waitUntil). */
  defer?: (work: Promise<unknown>) => void;
  /**
   * Where work goes that nothing should wait for, not even the announcements `defer` collects (a
   * webhook's first attempt, as slow as its endpoint): the request's waitUntil, a Durable Object's
   * own. Without it such work is handed to a queue instead.
   */
  background?: (work: Promise<unknown>) => void;
  outbox: TransitionOutbox;
  listeners: readonly TransitionListener[];
}
