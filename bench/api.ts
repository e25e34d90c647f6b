// `npm run bench:api`: against `wrangler dev`, job create and job get under
// load (autocannon, 20 s a run), beside a bare route in the same Worker that
// does one D1 insert / one select — the floor any route stands on. Figures are
// the mean of two runs per route, taken in A-B-B-A order.
import autocannon from "autocannon";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../sdk/index.ts";
import { startWranglerDev } from "../test/helpers/wranglerDev.ts";
import { printTable, writeReport } from "./lib/report.ts";

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
// Issue 22: a create costs at most 1.25 bare inserts.
const GOALS = { create: 1.25, get: 1.5 };

interface Measured {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(name: string, options: autocannon.Options): Promise<Measured> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...options });
  return {
    name,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

async function pair(nameA: string, a: autocannon.Options, nameB: string, b: autocannon.Options): Promise<[Measured, Measured]> {
  const runs = [await load(nameA, a), await load(nameB, b), await load(nameB, b), await load(nameA, a)];
  const mean = (x: Measured, y: Measured): Measured => ({
    name: x.name,
    requestsPerSecond: (x.requestsPerSecond + y.requestsPerSecond) / 2,
    p50: (x.p50 + y.p50) / 2,
    p99: (x.p99 + y.p99) / 2,
    errors: x.errors + y.errors,
    non2xx: x.non2xx + y.non2xx,
  });
  return [mean(runs[0]!, runs[3]!), mean(runs[1]!, runs[2]!)];
}

const dev = await startWranglerDev({ BENCH_ROUTES: "true", HUB_SHARDS: "4" });
try {
  const client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
  const auth = { authorization: `Bearer ${client.apiKey}`, "content-type": "application/json" };
  const jobBody = JSON.stringify({ image: "ghcr.io/pond/example:1", cmd: ["echo", "hi"], resources: { gpus: 0, cpus: 1, memory_mb: 256 }, timeout_s: 60, max_price_wei: "1000" });
  const existing = await client.createJob(JSON.parse(jobBody));
  const row = (await (await fetch(`${dev.url}/bench/insert`, { method: "POST", body: "seed" })).json()) as { id: string };

  // Each pair runs twice in A-B-B-A order and is averaged, so drift on a shared machine hits both sides alike.
  const insertOptions = { url: `${dev.url}/bench/insert`, method: "POST" as const, body: jobBody, headers: { "content-type": "application/json" } };
  const createOptions = { url: `${dev.url}/v1/jobs`, method: "POST" as const, body: jobBody, headers: auth };
  const [insert, create] = await pair("bare D1 insert (POST /bench/insert)", insertOptions, "job create (POST /v1/jobs)", createOptions);
  const [select, get] = await pair(
    "bare D1 select (GET /bench/select/:id)",
    { url: `${dev.url}/bench/select/${row.id}` },
    "job get (GET /v1/jobs/:id)",
    { url: `${dev.url}/v1/jobs/${existing.id}`, headers: auth },
  );

  const rows = [insert, create, select, get];
  printTable(`API under load: ${CONNECTIONS} connections, ${DURATION_S} s each, wrangler dev (local workerd + D1)`, ["route", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx"], rows.map((r) => [r.name, r.requestsPerSecond, r.p50, r.p99, r.errors, r.non2xx]));
  const createRatio = insert.requestsPerSecond / create.requestsPerSecond;
  const getRatio = select.requestsPerSecond / get.requestsPerSecond;
  console.log(`\ncreate: ${createRatio.toFixed(2)}× the cost of a bare insert (goal ≤ ${GOALS.create}×): ${createRatio <= GOALS.create ? "met" : "NOT met"}`);
  console.log(`get:    ${getRatio.toFixed(2)}× the cost of a bare select (goal ≤ ${GOALS.get}×): ${getRatio <= GOALS.get ? "met" : "NOT met"}`);
  console.log(`report: ${await writeReport("api", { durationS: DURATION_S, connections: CONNECTIONS, rows, createRatio, getRatio, goals: GOALS })}`);
} finally {
  await dev.stop();
}
