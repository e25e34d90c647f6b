// The Worker's configuration, parsed once per env object from wrangler vars and
// secrets. Nothing else reads env variables directly.
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";

const seconds = z.coerce.number().int().positive();
const csvSeconds = z
  .string()
  .transform((value) => value.split(",").map((part) => Number(part.trim())))
  .pipe(z.array(z.number().int().min(0).max(43_200)).min(1));
const flag = z.enum(["true", "false"]).transform((value) => value === "true");
/** A comma-separated list of ICE server URLs of the given schemes. */
const iceUrls = (schemes: RegExp, example: string) =>
  z
    .string()
    .transform((value) => value.split(",").map((part) => part.trim()).filter((part) => part.length > 0))
    .pipe(z.array(z.string().regex(schemes, `each URL must look like ${example}`)).min(1).max(8));

/**
 * Where web apps may call the API from: `*` (any origin), or a comma-separated list of origins
 * such as `https://app.example.com,http://localhost:5173` (worker/http/cors.ts says why any is safe).
 */
const corsOrigins = z
  .string()
  .transform((value) => (value.trim() === "*" ? "*" : value.split(",").map((part) => part.trim()).filter((part) => part.length > 0)))
  .pipe(
    z.union([
      z.literal("*"),
      z.array(z.string().regex(/^https?:\/\/[^\s/?#]+$/, "each CORS origin must be scheme://host[:port], as browsers send it: no path, no trailing slash")).min(1).max(50),
    ]),
  );

const ConfigSchema = z.object({
  ENVIRONMENT: z.enum(["development", "production"]),
  SECRETS_KEY: z
    .string({ error: "SECRETS_KEY is not set: add it with `wrangler secret put SECRETS_KEY` (32 random bytes, base64)" })
    .refine((value) => atob(value).length === 32, "SECRETS_KEY must be 32 bytes, base64-encoded"),
  PUBLIC_URL: z.url().optional(),
  // An RFC 3986 authority, as EIP-4361 puts it in the message: host, and port if any.
  SIWE_DOMAIN: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[^\s/:?#@[\]]+)(:\d{1,5})?$/, "SIWE_DOMAIN must be the host (and port, if any) users sign in at, e.g. api.example.com, not a URL")
    .optional(),
  SIWE_NONCE_TTL_S: seconds.default(600),
  CORS_ORIGINS: corsOrigins.default("*"),
  SIWE_STATEMENT: z.string().default("Sign in to Pond to create an API key."),
  HUB_SHARDS: z.coerce.number().int().min(1).max(1024).default(4),
  WEBHOOK_RETRY_SCHEDULE: csvSeconds.default([5, 30, 120, 300, 900, 1800, 3600, 7200, 14_400, 21_600, 28_800, 43_200]),
  WEBHOOK_TIMEOUT_MS: seconds.default(15_000),
  /** The dead-letter queue's name, as wrangler.toml declares it: its batches are dead letters. */
  WEBHOOK_DLQ: z.string().min(1).default("pond-webhooks-dlq"),
  // How long the sweeper leaves the outbox's work to its normal path before it calls it lost.
  WEBHOOK_OUTBOX_GRACE_MS: seconds.default(60_000),
  WEBHOOK_LOST_AFTER_MS: seconds.default(5 * 60_000),
  OFFER_TIMEOUT_MS: seconds.default(5_000),
  PROVIDER_GRACE_MS: seconds.default(30_000),
  MAX_JOB_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  // How often a batch's early stopping judges its jobs (worker/sweeps/judge.ts).
  SWEEP_JUDGE_INTERVAL_MS: seconds.default(2_000),
  MAX_OUTPUT_BYTES: seconds.default(1024 * 1024 * 1024),
  BENCH_ROUTES: flag.default(false),
  CHAIN: z.enum(["anvil", "arbitrum-sepolia", "arbitrum"]).default("anvil"),
  RPC_URL: z.url().optional(),
  RELAYER_PRIVATE_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "RELAYER_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key").optional(),
  MARKET_ADDRESS: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
  MARKET_START_BLOCK: z.coerce.bigint().default(0n),
  CONFIRMATIONS: z.coerce.number().int().min(0).max(1000).default(0),
  INDEXER_INTERVAL_MS: seconds.default(2_000),
  RELAYER_BATCH_SIZE: z.coerce.number().int().min(1).max(200).default(50),
  RELAYER_INTERVAL_MS: seconds.default(2_000),
  RELAYER_REPLACE_AFTER_MS: seconds.default(30_000),
  STUN_URLS: iceUrls(/^stun:\S+$/, "stun:stun.example.org:3478").optional(),
  TURN_URLS: iceUrls(/^turns?:\S+$/, "turn:turn.example.org:3478?transport=udp").optional(),
  TURN_SHARED_SECRET: z.string().min(16, "TURN_SHARED_SECRET must be at least 16 characters (coturn's static-auth-secret)").optional(),
  ICE_CREDENTIAL_TTL_S: seconds.max(86_400).default(3_600),
  SIGNAL_WAIT_MS: seconds.max(300_000).default(15_000),
  CLOUDFLARE_TURN_KEY_ID: z.string().regex(/^[0-9a-f]{32}$/i, "CLOUDFLARE_TURN_KEY_ID must be the 32-hex-digit TURN key id").optional(),
  CLOUDFLARE_TURN_API_TOKEN: z.string().min(1).optional(),
  CLOUDFLARE_TURN_API_URL: z.url().default("https://rtc.live.cloudflare.com/v1"),
})
  .refine((raw) => (raw.TURN_URLS === undefined) === (raw.TURN_SHARED_SECRET === undefined), {
    path: ["TURN_SHARED_SECRET"],
    message: "TURN_URLS and TURN_SHARED_SECRET go together: set both (coturn with use-auth-secret) or neither",
  })
  .refine((raw) => (raw.CLOUDFLARE_TURN_KEY_ID === undefined) === (raw.CLOUDFLARE_TURN_API_TOKEN === undefined), {
    path: ["CLOUDFLARE_TURN_API_TOKEN"],
    message: "CLOUDFLARE_TURN_KEY_ID and CLOUDFLARE_TURN_API_TOKEN go together: set both (wrangler secret put CLOUDFLARE_TURN_API_TOKEN) or neither",
  })
  .refine((raw) => raw.ENVIRONMENT !== "production" || raw.PUBLIC_URL !== undefined, {
  path: ["PUBLIC_URL"],
  message: "PUBLIC_URL is required in production (e.g. https://api.example.com): links in webhooks sent by background work are built from it",
}).refine((raw) => raw.ENVIRONMENT !== "production" || raw.SIWE_DOMAIN !== undefined, {
  path: ["SIWE_DOMAIN"],
  // Without it the domain a sign-in message must name would come from the request's Host header, which the client chooses.
  message: "SIWE_DOMAIN is required in production: set it to the host users sign in at (e.g. api.example.com), the domain their wallets show and sign",
});

export type Config = ReturnType<typeof toConfig>;

function toConfig(raw: z.infer<typeof ConfigSchema>) {
  return {
    environment: raw.ENVIRONMENT,
    isProduction: raw.ENVIRONMENT === "production",
    secretsKey: raw.SECRETS_KEY,
    publicUrl: raw.PUBLIC_URL,
    siwe: { domain: raw.SIWE_DOMAIN, nonceTtlMs: raw.SIWE_NONCE_TTL_S * 1000, statement: raw.SIWE_STATEMENT },
    cors: { origins: raw.CORS_ORIGINS },
    hubShards: raw.HUB_SHARDS,
    webhooks: {
      retryScheduleS: raw.WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: raw.WEBHOOK_TIMEOUT_MS,
      deadLetterQueue: raw.WEBHOOK_DLQ,
      /** A transition nobody dispatched within this long was dropped by a crash. */
      outboxGraceMs: raw.WEBHOOK_OUTBOX_GRACE_MS,
      /** A delivery not attempted within this long of when it was due lost its queue message. */
      lostAfterMs: raw.WEBHOOK_LOST_AFTER_MS,
    },
    matching: {
      offerTimeoutMs: raw.OFFER_TIMEOUT_MS,
      providerGraceMs: raw.PROVIDER_GRACE_MS,
      maxJobAttempts: raw.MAX_JOB_ATTEMPTS,
    },
    maxOutputBytes: raw.MAX_OUTPUT_BYTES,
    sweepJudgeIntervalMs: raw.SWEEP_JUDGE_INTERVAL_MS,
    benchRoutes: raw.BENCH_ROUTES,
    chain: {
      name: raw.CHAIN,
      rpcUrl: raw.RPC_URL,
      relayerKey: raw.RELAYER_PRIVATE_KEY as `0x${string}` | undefined,
      // Derived once here: the relayer object is named after it.
      relayerAddress: raw.RELAYER_PRIVATE_KEY ? privateKeyToAccount(raw.RELAYER_PRIVATE_KEY as `0x${string}`).address.toLowerCase() : undefined,
      marketAddress: raw.MARKET_ADDRESS?.toLowerCase() as `0x${string}` | undefined,
      startBlock: raw.MARKET_START_BLOCK,
      confirmations: raw.CONFIRMATIONS,
      indexerIntervalMs: raw.INDEXER_INTERVAL_MS,
      relayerBatchSize: raw.RELAYER_BATCH_SIZE,
      relayerIntervalMs: raw.RELAYER_INTERVAL_MS,
      replaceAfterMs: raw.RELAYER_REPLACE_AFTER_MS,
    },
    signaling: {
      stunUrls: raw.STUN_URLS ?? [],
      turn: raw.TURN_URLS && raw.TURN_SHARED_SECRET ? { urls: raw.TURN_URLS, secret: raw.TURN_SHARED_SECRET } : undefined,
      cloudflare: raw.CLOUDFLARE_TURN_KEY_ID && raw.CLOUDFLARE_TURN_API_TOKEN ? { keyId: raw.CLOUDFLARE_TURN_KEY_ID, token: raw.CLOUDFLARE_TURN_API_TOKEN, apiUrl: raw.CLOUDFLARE_TURN_API_URL.replace(/\/$/, "") } : undefined,
      iceTtlS: raw.ICE_CREDENTIAL_TTL_S,
      /** How long a signal waits for a peer that has not joined. */
      waitMs: raw.SIGNAL_WAIT_MS,
    },
  };
}

/** Whether this Worker settles jobs on chain: it can read the chain and knows the market contract. */
export function isChainConfigured(config: Config): boolean {
  return config.chain.rpcUrl !== undefined && config.chain.marketAddress !== undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

// A cache, not state: the same env object always parses to the same config.
const parsed = new WeakMap<object, Config>();

/**
 * Plain `wrangler dev` with no secrets set should still give a working API: in
 * development only, a fixed and public key seals webhook secrets. Production
 * refuses to start without SECRETS_KEY.
 */
const DEVELOPMENT_SECRETS_KEY = btoa("pond-development-only-not-secret");

/** The Worker's `env` parsed: only its vars and secrets are read (so Node code, a test beside anvil, can pass a plain object). */
export function getConfig(env: object): Config {
  const cached = parsed.get(env);
  if (cached) return cached;
  const vars = env as unknown as Record<string, unknown>;
  const withDefaults = vars.ENVIRONMENT === "development" && vars.SECRETS_KEY === undefined ? { ...vars, SECRETS_KEY: DEVELOPMENT_SECRETS_KEY } : vars;
  const result = ConfigSchema.safeParse(withDefaults);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new ConfigError(`Worker configuration is invalid: ${issues}`);
  }
  const config = toConfig(result.data);
  parsed.set(env, config);
  return config;
}
