import type { ChainIndexer } from "./chain/ChainIndexer.ts";
import type { ChainRelayer } from "./chain/ChainRelayer.ts";
import type { ProviderHub } from "./hub/ProviderHub.ts";
import type { Matchmaker } from "./matching/Matchmaker.ts";
import type { JobRoom } from "./rooms/JobRoom.ts";
import type { WebhookMessage } from "./webhooks/message.ts";

/** The Worker's bindings, as wrangler.toml declares them. Variables are read only through `config.ts`. */
export interface Env {
  DB: D1Database;
  OUTPUTS: R2Bucket;
  WEBHOOKS: Queue<WebhookMessage>;
  WEBHOOKS_DLQ: Queue<WebhookMessage>;
  HUB: DurableObjectNamespace<ProviderHub>;
  MATCHMAKER: DurableObjectNamespace<Matchmaker>;
  JOB_ROOM: DurableObjectNamespace<JobRoom>;
  RELAYER: DurableObjectNamespace<ChainRelayer>;
  INDEXER: DurableObjectNamespace<ChainIndexer>;
}
