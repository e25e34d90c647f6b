import type { Config } from "../config/config.ts";
import type { Db } from "../db/client.ts";

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
    /** What an idempotent replay answers instead of this response's body: set by a route whose answer holds a secret shown once. */
    replayBody: string | undefined;
  };
}
