// The floor for `npm run bench:api`: one bare D1 insert, one bare select, in
// the same Worker as the real routes. Mounted only when BENCH_ROUTES=true.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { benchRows } from "../db/schema.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { notFound } from "../errors/problem.ts";
import { randomId } from "../security/randomToken.ts";

export const benchRoutes = new Hono<AppEnv>()
  .use("*", async (c, next) => {
    if (!c.get("config").benchRoutes) throw notFound("this route");
    await next();
  })
  .post("/insert", async (c) => {
    const row = { id: randomId("bench"), body: await c.req.text(), createdAt: Date.now() };
    await c.get("db").insert(benchRows).values(row);
    return c.json({ id: row.id }, 201);
  })
  .get("/select/:id", async (c) => {
    const row = (await c.get("db").select().from(benchRows).where(eq(benchRows.id, c.req.param("id"))))[0];
    if (!row) throw notFound("row");
    return c.json(row);
  });
