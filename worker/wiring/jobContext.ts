// The composition root for job work: a JobContext with every listener a
// transition is announced to. Built here and only here, for requests
// (http/appEnv.ts) and for background work (Durable Objects, cron, queues).
import { announceToChain } from "../chain/settlementHooks.ts";
import { getConfig, type Config } from "../config/config.ts";
import { createDb, type Db } from "../db/client.ts";
import type { JobContext, TransitionListener } from "../jobs/context.ts";
import { announceToDependents } from "../matching/dependents.ts";
import { announceToMatching } from "../matching/scheduling.ts";
import { announceToRoom } from "../rooms/announce.ts";
import { announceToWebhooks, webhookOutbox } from "../webhooks/outbox.ts";

/**
 * In this order: webhooks first (the outbox), then the job's room, matching, the chain, and the jobs whose
 * inputs come from this one (resolved or failed when it ends); they run side by side.
 */
const listeners: readonly TransitionListener[] = [announceToWebhooks, announceToRoom, announceToMatching, announceToChain, announceToDependents];

export interface JobContextOptions {
  config?: Config;
  db?: Db;
  /** Links in what is announced; background work, with no request behind it, uses PUBLIC_URL. */
  baseUrl?: string;
  defer?: (work: Promise<unknown>) => void;
  background?: (work: Promise<unknown>) => void;
}

export function jobContextFor(env: Env, options: JobContextOptions = {}): JobContext {
  const config = options.config ?? getConfig(env);
  return {
    env,
    config,
    db: options.db ?? createDb(env.DB),
    baseUrl: options.baseUrl ?? config.publicUrl ?? "",
    ...(options.defer ? { defer: options.defer } : {}),
    ...(options.background ? { background: options.background } : {}),
    outbox: webhookOutbox,
    listeners,
  };
}
