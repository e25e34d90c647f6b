// `npm run bench:profile -- create|insert|get|select`: where the Worker's CPU goes under one
// route's load. Starts `wrangler dev` as bench:api does, loads the route with autocannon
// while the Worker's isolate is sampled (bench/fleet/workerProfile.ts), and prints its
// JavaScript per request by module and by function. A tool for finding what to make
// cheaper; the figures that count are bench:api's ratios, measured without a profiler.
import autocannon from "autocannon";
import { newestDevBundle, startWorkerProfile } from "./fleet/workerProfile.ts";
import { startApiRoutes, type ApiRoute } from "./lib/apiRoutes.ts";
import { printTable } from "./lib/report.ts";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUTES: readonly ApiRoute[] = ["create", "insert", "get", "select"];

const route = (process.argv[2] ?? "create") as ApiRoute;
if (!ROUTES.includes(route)) {
  console.error(`usage: npm run bench:profile -- ${ROUTES.join("|")}`);
  process.exit(2);
}

const { dev, routes } = await startApiRoutes();
try {
  const profiler = await startWorkerProfile(dev.inspectorPort, newestDevBundle());
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...routes[route] });
  const summary = await profiler.stop();
  const requests = result.requests.total;
  console.log(`${route}: ${requests} requests (${result.non2xx} non-2xx) in ${DURATION_S} s; the isolate's JavaScript ${summary.jsMs.toFixed(0)} ms, ${(summary.jsMs / requests).toFixed(2)} ms a request`);
  printTable("self time by module", ["module", "ms / request", "share"], summary.byFile.map((row) => [row.file, row.ms / requests, `${(row.share * 100).toFixed(1)}%`]));
  printTable("self time by function", ["function", "ms / request", "share"], summary.top.map((row) => [row.where, row.ms / requests, `${(row.share * 100).toFixed(1)}%`]));
} finally {
  await dev.stop();
}
