import { createMiddleware } from "hono/factory";
import { getConfig } from "../config/config.ts";
import { createDb } from "../db/client.ts";
import type { JobContext } from "../jobs/context.ts";
import { jobContextFor } from "../wiring/jobContext.ts";
import type { AppEnv } from "./appEnv.ts";

/** Parses config and opens the database once per request. */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const config = getConfig(c.env);
  c.set("config", config);
  c.set("db", createDb(c.env.DB));
  c.set("baseUrl", (config.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, ""));
  await next();
});

type RequestLike = { env: Env; get<K extends keyof AppEnv["Variables"]>(key: K): AppEnv["Variables"][K]; executionCtx: { waitUntil(work: Promise<unknown>): void } };

/** The job context for a request: follow-up work runs after the response. */
export function jobContextOf(c: RequestLike): JobContext {
  return jobContextFor(c.env, { config: c.get("config"), db: c.get("db"), baseUrl: c.get("baseUrl"), defer: (work) => c.executionCtx.waitUntil(work), background: (work) => c.executionCtx.waitUntil(work) });
}
