import { createMiddleware } from "hono/factory";
import { getConfig } from "../config.ts";
import { createDb } from "../db/client.ts";
import type { AppEnv } from "./appEnv.ts";

/** Parses config and opens the database once per request. */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const config = getConfig(c.env);
  c.set("config", config);
  c.set("db", createDb(c.env.DB));
  c.set("baseUrl", (config.publicUrl ?? new URL(c.req.url).origin).replace(/\/$/, ""));
  await next();
});
