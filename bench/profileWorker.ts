// `npm run bench:profile -- create|insert|get`: where the Worker's CPU goes under one
// route's load. Starts `wrangler dev` as bench:api does, loads the route with autocannon
// while the Worker's isolate is sampled (bench/fleet/workerProfile.ts), and prints its
// JavaScript per request by module and by function. A tool for finding what to make
// cheaper; the figures that count are bench:api's ratios, measured without a profiler.
import autocannon from "autocannon";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../sdk/index.ts";
import { startWranglerDev } from "../test/helpers/wranglerDev.ts";
import { newestDevBundle, startWorkerProfile } from "./fleet/workerProfile.ts";
import { printTable } from "./lib/report.ts";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ROUTES = ["create", "insert", "get"] as const;
type Route = (typeof ROUTES)[number];

const route = (process.argv[2] ?? "create") as Route;
if (!ROUTES.includes(route)) {
  console.error(`usage: npm run bench:profile -- ${ROUTES.join("|")}`);
  process.exit(2);
}

const dev = await startWranglerDev({ BENCH_ROUTES: "true", HUB_SHARDS: "4" });
try {
  const client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
  const auth = { authorization: `Bearer ${client.apiKey}`, "content-type": "application/json" };
  const jobBody = JSON.stringify({ image: "ghcr.io/pond/example:1", cmd: ["echo", "hi"], resources: { gpus: 0, cpus: 1, memory_mb: 256 }, timeout_s: 60, max_price_wei: "1000" });
  const existing = await client.createJob(JSON.parse(jobBody));
  const options: Record<Route, autocannon.Options> = {
    create: { url: `${dev.url}/v1/jobs`, method: "POST", body: jobBody, headers: auth },
    insert: { url: `${dev.url}/bench/insert`, method: "POST", body: jobBody, headers: { "content-type": "application/json" } },
    get: { url: `${dev.url}/v1/jobs/${existing.id}`, headers: auth },
  };
  const profiler = await startWorkerProfile(dev.inspectorPort, newestDevBundle());
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...options[route] });
  const summary = await profiler.stop();
  const requests = result.requests.total;
  console.log(`${route}: ${requests} requests (${result.non2xx} non-2xx) in ${DURATION_S} s; the isolate's JavaScript ${summary.jsMs.toFixed(0)} ms, ${(summary.jsMs / requests).toFixed(2)} ms a request`);
  printTable("self time by module", ["module", "ms / request", "share"], summary.byFile.map((row) => [row.file, row.ms / requests, `${(row.share * 100).toFixed(1)}%`]));
  printTable("self time by function", ["function", "ms / request", "share"], summary.top.map((row) => [row.where, row.ms / requests, `${(row.share * 100).toFixed(1)}%`]));
} finally {
  await dev.stop();
}
