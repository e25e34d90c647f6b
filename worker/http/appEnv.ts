import type { Config } from "../config.ts";
import type { Db } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { JobContext } from "../jobs/transitions.ts";

/** What every route sees: bindings, and per-request values set by middleware. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    db: Db;
    /** Origin used in links (PUBLIC_URL, else the request's own). */
    baseUrl: string;
    /** The signed-in creator, set by requireApiKey. */
    account: `0x${string}`;
    /** Set by requireApiKeyInBatch when the route checks the key in its own batch. */
    apiKeyHash: string | undefined;
    /** Rows a route asked requireApiKeyWith to read alongside the key lookup. */
    preloaded: unknown;
  };
}

type AppContextLike = { env: Env; get<K extends keyof AppEnv["Variables"]>(key: K): AppEnv["Variables"][K]; executionCtx: { waitUntil(work: Promise<unknown>): void } };

/** The job context for a request: follow-up work runs after the response. */
export function jobContextOf(c: AppContextLike): JobContext {
  return {
    env: c.env,
    db: c.get("db"),
    config: c.get("config"),
    baseUrl: c.get("baseUrl"),
    defer: (work) => c.executionCtx.waitUntil(work),
  };
}
