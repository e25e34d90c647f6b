// The JobContext for work with no request behind it (Durable Objects, cron,
// queues): links in what it announces come from PUBLIC_URL.
import { getConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import type { Env } from "../env.ts";
import type { JobContext } from "./transitions.ts";

export function backgroundJobContext(env: Env): JobContext {
  const config = getConfig(env);
  return { env, db: createDb(env.DB), config, baseUrl: config.publicUrl ?? "" };
}
