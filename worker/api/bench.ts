// The floor for `npm run bench:api`: one bare D1 insert, one bare select, in
// the same Worker as the real routes; and a bulk fill of a creator's job list
// for the dashboard's paging test. Mounted only when BENCH_ROUTES=true.
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { JobSpec } from "../../protocol/jobSpec.ts";
import { requireApiKey } from "../auth/requireApiKey.ts";
import { benchRows } from "../db/schema.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { notFound, unprocessable } from "../errors/problem.ts";
import { randomId } from "../security/randomToken.ts";

const FillRequest = z.object({ count: z.int().min(1).max(20_000) });
/** A finished job's spec, parsed like any other so the rows read back as real jobs. */
const filledSpec = JobSpec.parse({ image: "pond-test/busybox:2", cmd: ["true"], resources: { gpus: 0, cpus: 0.5, memory_mb: 128 }, timeout_s: 30, max_price_wei: "0" });

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
  })
  // `count` finished jobs for the caller, in one statement: every fourth failed, the rest succeeded,
  // created one ms apart, each having run for a second or a few.
  .post("/jobs", requireApiKey, async (c) => {
    const parsed = FillRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) throw unprocessable("send {\"count\": 1…20000}", [{ path: "count", message: "an integer from 1 to 20000" }]);
    const start = Date.now() - parsed.data.count;
    await c.get("db").run(sql`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${parsed.data.count})
      INSERT INTO jobs (id, account, status, spec, chain_job_id, webhook_events_filter, created_at, assigned_at, started_at, completed_at)
      SELECT 'job_fill_' || lower(hex(randomblob(6))) || '_' || i, ${c.get("account")}, CASE i % 4 WHEN 0 THEN 'failed' ELSE 'succeeded' END,
        ${JSON.stringify(filledSpec)}, '0x' || lower(hex(randomblob(32))), '[]', ${start} + i, ${start} + i + 300, ${start} + i + 900,
        ${start} + i + 900 + (i % 9) * 1300 + 700
      FROM n`);
    return c.json({ inserted: parsed.data.count }, 201);
  });
