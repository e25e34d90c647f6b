// `npm run bench:api`: against `wrangler dev`, job create and job get under
// load (autocannon, 20 s a run), beside a bare route in the same Worker that
// does one D1 insert / one select — the floor any route stands on. Figures are
// the mean of two runs per route, taken in A-B-B-A order.
import autocannon from "autocannon";
import { startApiRoutes } from "./lib/apiRoutes.ts";
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

const { dev, routes } = await startApiRoutes();
try {
  // Each pair runs twice in A-B-B-A order and is averaged, so drift on a shared machine hits both sides alike.
  const [insert, create] = await pair("bare D1 insert (POST /bench/insert)", routes.insert, "job create (POST /v1/jobs)", routes.create);
  const [select, get] = await pair("bare D1 select (GET /bench/select/:id)", routes.select, "job get (GET /v1/jobs/:id)", routes.get);

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
