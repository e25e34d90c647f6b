// The network at a glance, for anyone: providers online and their capacity,
// jobs now and per hour, how fast jobs are matched and finished, and what was
// paid. Aggregates only: nothing here belongs to one creator.
import { createRoute, z } from "@hono/zod-openapi";
import { JobActivity, NetworkSummary } from "../../protocol/network.ts";
import { jobsPerHour } from "../stats/jobActivity.ts";
import { networkSummary } from "../stats/networkSummary.ts";
import { createRouter, jsonContent, problems } from "./openapi.ts";

/** Figures a few seconds old are fine for everyone; caches may share them. */
const PUBLIC_CACHE = "public, max-age=5";

const summaryRoute = createRoute({
  method: "get",
  path: "/",
  operationId: "getNetworkSummary",
  security: [],
  summary: "The network now: providers online, capacity free and used, jobs queued and running, median times, settlements",
  responses: { 200: jsonContent(NetworkSummary, "The network's figures") },
});

const activityRoute = createRoute({
  method: "get",
  path: "/activity",
  operationId: "getNetworkActivity",
  security: [],
  summary: "Jobs queued, started and finished per hour, oldest hour first",
  request: { query: z.object({ hours: z.coerce.number().int().min(1).max(168).default(24) }) },
  responses: { 200: jsonContent(JobActivity, "One bucket per hour"), 422: problems[422] },
});

export const networkRoutes = createRouter()
  .openapi(summaryRoute, async (c) => {
    c.header("cache-control", PUBLIC_CACHE);
    return c.json(await networkSummary(c.env, c.get("db"), c.get("config"), Date.now()), 200);
  })
  .openapi(activityRoute, async (c) => {
    const { hours } = c.req.valid("query");
    c.header("cache-control", PUBLIC_CACHE);
    return c.json({ hours, buckets: await jobsPerHour(c.get("db"), Date.now(), hours) }, 200);
  });
