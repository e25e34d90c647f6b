// The D1 schema: the one source of truth. `npm run db:generate` turns changes
// here into SQL under migrations/, which wrangler applies.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

const now = sql`(unixepoch('subsec') * 1000)`;

export const accounts = sqliteTable("accounts", {
  address: text("address").primaryKey(),
  /** The default webhook secret, AES-GCM encrypted under SECRETS_KEY. */
  webhookSecretEnc: text("webhook_secret_enc").notNull(),
  createdAt: integer("created_at").notNull().default(now),
});

export const authNonces = sqliteTable("auth_nonces", {
  nonce: text("nonce").primaryKey(),
  issuedAt: integer("issued_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    account: text("account").notNull().references(() => accounts.address),
    keyHash: text("key_hash").notNull(),
    /** The first characters of the key, to tell keys apart in listings. */
    prefix: text("prefix").notNull(),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash), index("api_keys_account").on(t.account)],
);

export const jobs = sqliteTable(
  "jobs",
  {
    /** Insertion order: the pagination key, stable under concurrent inserts. */
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    account: text("account").notNull().references(() => accounts.address),
    status: text("status").notNull(),
    statusDetail: text("status_detail"),
    spec: text("spec", { mode: "json" }).notNull(),
    output: text("output", { mode: "json" }),
    /** How its files moved: {inputs, outputs}, each {route, bytes, ms} or null (protocol/transferMetrics.ts). */
    transferMetrics: text("transfer_metrics", { mode: "json" }),
    error: text("error"),
    exitCode: integer("exit_code"),
    logsTail: text("logs_tail").notNull().default(""),
    provider: text("provider"),
    attempt: integer("attempt").notNull().default(0),
    settlement: text("settlement").notNull().default("none"),
    webhook: text("webhook"),
    /** The job's id on chain: the creator's key when they authorized it, else keccak256(id). */
    chainJobId: text("chain_job_id").notNull(),
    /** The creator's EIP-712 JobAuthorization, when the job is to be settled on chain. */
    authSignature: text("auth_signature"),
    authDeadline: integer("auth_deadline"),
    /** What the provider agreed to: its rate, and the most it may claim. */
    rateWeiPerSecond: text("rate_wei_per_second"),
    maxAmountWei: text("max_amount_wei"),
    /** The provider's signed claim over the result. */
    amountWei: text("amount_wei"),
    resultSignature: text("result_signature"),
    webhookEventsFilter: text("webhook_events_filter", { mode: "json" }).notNull(),
    /** The template version the spec was resolved from (`owner/name@1.2.0`), if any. */
    template: text("template"),
    createdAt: integer("created_at").notNull(),
    assignedAt: integer("assigned_at"),
    startedAt: integer("started_at"),
    completedAt: integer("completed_at"),
    /** How long the container ran, as the provider's engine recorded it (its start and finish times), when the provider said. */
    containerRunMs: integer("container_run_ms"),
    /** What the job's network egress moved, per host, as its provider's proxy counted it (protocol/egress.ts EgressUsage). */
    egressUsage: text("egress_usage", { mode: "json" }),
    gpuUsage: text("gpu_usage", { mode: "json" }),
    /** The latest checkpoint its provider saved (protocol/checkpoint.ts SavedCheckpoint), kept across attempts: a requeued job resumes from it. */
    checkpoint: text("checkpoint", { mode: "json" }),
    /** Each metric's newest point, as the job reported them in its output (protocol/reportedMetrics.ts LatestReported); the job's room keeps the curves. */
    reportedMetrics: text("reported_metrics", { mode: "json" }),
    /** The creator's labels (protocol/labels.ts), as given; job_labels indexes them for listing. */
    labels: text("labels", { mode: "json" }),
    /** When the sweeper deleted its inputs from the relay (worker/data/relayRetention.ts). */
    inputsPurgedAt: integer("inputs_purged_at"),
    /**
     * For a job whose input_files name other jobs' outputs (`from`): every entry with its size and
     * sha256, once each source has succeeded (worker/jobs/inputSources.ts); null while one has not.
     */
    resolvedInputFiles: text("resolved_input_files", { mode: "json" }),
    /** When its inputs from other jobs were all known: its match window starts then, not at its creation. */
    inputsReadyAt: integer("inputs_ready_at"),
    /**
     * The values of the spec's `secrets`, as JSON sealed under SECRETS_KEY (security/secretBox.ts): opened only for the
     * provider that runs it (or mediates it), never returned; NULL once the job's data is purged (data/relayRetention.ts).
     */
    sealedSecrets: text("sealed_secrets"),
  },
  (t) => [
    uniqueIndex("jobs_id").on(t.id),
    index("jobs_account_seq").on(t.account, t.seq),
    index("jobs_account_status_seq").on(t.account, t.status, t.seq),
    index("jobs_status").on(t.status),
    index("jobs_provider_status").on(t.provider, t.status),
    // Unique: two jobs with one chain id would share one escrow reservation. Jobs without an
    // authorization get keccak256(id), unique like their id.
    uniqueIndex("jobs_chain_job_id").on(t.chainJobId),
    // The sweeper looks for jobs whose chain work is still open.
    index("jobs_settlement").on(t.settlement),
  ],
);

/**
 * Which jobs a job's input files come from (protocol/jobSpec.ts `from`): when a source job
 * ends, its dependents are found by this index and resolved or failed (worker/matching/dependents.ts).
 */
export const jobInputSources = sqliteTable(
  "job_input_sources",
  {
    jobId: text("job_id").notNull(),
    sourceJobId: text("source_job_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.sourceJobId] }), index("job_input_sources_source").on(t.sourceJobId)],
);

/** One label of a job, with its account and order, so a listing filtered by label reads an index (worker/jobs/labels.ts). */
export const jobLabels = sqliteTable(
  "job_labels",
  {
    jobId: text("job_id").notNull(),
    account: text("account").notNull(),
    key: text("key").notNull(),
    value: text("value").notNull(),
    seq: integer("seq").notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.key] }), index("job_labels_account_key_value_seq").on(t.account, t.key, t.value, t.seq)],
);

/** Who owns a template namespace (the `owner` of `owner/name`): the first account to publish in it. */
export const templateNamespaces = sqliteTable("template_namespaces", {
  name: text("name").primaryKey(),
  account: text("account").notNull().references(() => accounts.address),
  createdAt: integer("created_at").notNull(),
});

/** Published template versions: immutable, one row per `owner/name@version`. */
export const templates = sqliteTable(
  "templates",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    version: text("version").notNull(),
    owner: text("owner").notNull().references(() => accounts.address),
    description: text("description").notNull(),
    definition: text("definition", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("templates_name_version").on(t.name, t.version), index("templates_name_seq").on(t.name, t.seq)],
);

/** Every status change, with its time: the audit trail and the event outbox. */
export const jobTransitions = sqliteTable(
  "job_transitions",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    jobId: text("job_id").notNull(),
    fromStatus: text("from_status"),
    toStatus: text("to_status").notNull(),
    detail: text("detail"),
    at: integer("at").notNull(),
    /** Set once the webhook deliveries for this transition exist. */
    dispatchedAt: integer("dispatched_at"),
  },
  (t) => [
    index("job_transitions_job").on(t.jobId),
    index("job_transitions_undispatched").on(t.dispatchedAt),
    // The network page counts transitions per hour: a range of this index, never the whole table.
    index("job_transitions_at").on(t.at, t.toStatus),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    account: text("account").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    state: text("state", { enum: ["in_flight", "done"] }).notNull(),
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    responseContentType: text("response_content_type"),
    /** The response headers a replay repeats (Location, Preference-Applied), as a JSON object. */
    responseHeaders: text("response_headers", { mode: "json" }),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.key] }), index("idempotency_expires").on(t.expiresAt)],
);

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    account: text("account").notNull().references(() => accounts.address),
    url: text("url").notNull(),
    events: text("events", { mode: "json" }).notNull(),
    secretEnc: text("secret_enc").notNull(),
    createdAt: integer("created_at").notNull(),
    disabledAt: integer("disabled_at"),
    disabledReason: text("disabled_reason"),
  },
  (t) => [index("webhook_endpoints_account").on(t.account)],
);

export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    /** Also the `webhook-id` header: stable across retries and replays. */
    id: text("id").primaryKey(),
    account: text("account").notNull(),
    /** Null for a job's own `webhook` URL, signed with the account's default secret. */
    endpointId: text("endpoint_id"),
    url: text("url").notNull(),
    eventType: text("event_type").notNull(),
    jobId: text("job_id"),
    payload: text("payload").notNull(),
    state: text("state", { enum: ["pending", "delivered", "retrying", "dead", "disabled"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    createdAt: integer("created_at").notNull(),
    lastAttemptAt: integer("last_attempt_at"),
    nextAttemptAt: integer("next_attempt_at"),
  },
  (t) => [
    index("webhook_deliveries_account").on(t.account, t.createdAt),
    index("webhook_deliveries_endpoint").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_job").on(t.jobId),
  ],
);

export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    deliveryId: text("delivery_id").notNull(),
    attemptedAt: integer("attempted_at").notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
  },
  (t) => [index("webhook_attempts_delivery").on(t.deliveryId)],
);

/** How far the indexer has read the market contract's logs. */
export const chainCursor = sqliteTable("chain_cursor", {
  id: text("id").primaryKey(),
  blockNumber: integer("block_number").notNull(),
  blockHash: text("block_hash").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Hashes of recently indexed blocks: a mismatch is a reorg, and says how far back to rewind. */
export const chainBlocks = sqliteTable("chain_blocks", {
  number: integer("number").primaryKey(),
  hash: text("hash").notNull(),
});

/** Every market event indexed, keyed by (tx hash, log index): reading a range twice is harmless. */
export const chainEvents = sqliteTable(
  "chain_events",
  {
    txHash: text("tx_hash").notNull(),
    logIndex: integer("log_index").notNull(),
    blockNumber: integer("block_number").notNull(),
    blockHash: text("block_hash").notNull(),
    name: text("name").notNull(),
    args: text("args", { mode: "json" }).notNull(),
    chainJobId: text("chain_job_id"),
    /** Set once what the event asks for (settlement read, webhook, relayer work, mediator call) was done. */
    processedAt: integer("processed_at"),
  },
  (t) => [
    primaryKey({ columns: [t.txHash, t.logIndex] }),
    index("chain_events_block").on(t.blockNumber),
    index("chain_events_job").on(t.chainJobId),
    index("chain_events_unprocessed").on(t.processedAt, t.blockNumber),
  ],
);

/** Creators' escrow as the contract holds it, as of the indexed block. */
export const chainAccounts = sqliteTable("chain_accounts", {
  address: text("address").primaryKey(),
  balanceWei: text("balance_wei").notNull().default("0"),
  reservedWei: text("reserved_wei").notNull().default("0"),
  updatedBlock: integer("updated_block").notNull().default(0),
});

/** Providers as the chain knows them (indexed from the market contract's events). */
export const chainProviders = sqliteTable("chain_providers", {
  address: text("address").primaryKey(),
  stakeWei: text("stake_wei").notNull().default("0"),
  jobsSettled: integer("jobs_settled").notNull().default(0),
  jobsChallenged: integer("jobs_challenged").notNull().default(0),
  jobsSlashed: integer("jobs_slashed").notNull().default(0),
  unbondingAt: integer("unbonding_at"),
  updatedBlock: integer("updated_block").notNull().default(0),
});

/** The floor for `npm run bench:api`: one bare insert and one bare select. */
export const benchRows = sqliteTable("bench_rows", {
  id: text("id").primaryKey(),
  body: text("body").notNull(),
  createdAt: integer("created_at").notNull(),
});
