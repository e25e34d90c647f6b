// A property-based fuzz of every route in the API's own /openapi.json, against
// one real `wrangler dev`: malformed and hostile bodies, huge numbers, NUL bytes,
// deep nesting, 10 MB bodies, wrong content types, bad or borrowed credentials,
// odd path parameters and queries. Every answer must be a 4xx problem+json that
// names the problem, or a success the document lists; never a 5xx, never a hang.
//
// Seeded: the seed is printed, and FUZZ_SEED=<seed> replays the same cases
// (FUZZ_RUNS=<n> tries n cases per route instead of the default).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient, signSiwe } from "../../../sdk/index.ts";
import { SiweNonce } from "../../../protocol/account.ts";
import { eventually } from "../../helpers/eventually.ts";
import { faultIn } from "../../helpers/fuzz/answerCheck.ts";
import { hostileRequest, tenMegabyteRequests, type FuzzCase, type FuzzFixture } from "../../helpers/fuzz/hostileRequests.ts";
import { routeName, routesOf, type Route } from "../../helpers/fuzz/openapiRoutes.ts";
import { sendRaw, type RawAnswer } from "../../helpers/fuzz/rawRequest.ts";
import { shellJob } from "../../helpers/jobs.ts";
import { startWranglerDev, type WranglerDev } from "../../helpers/wranglerDev.ts";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 25);
/** Generous: the machine is shared, and a 10 MB body takes a while; a hang is far longer still. */
const REQUEST_TIMEOUT_MS = 30_000;

let dev: WranglerDev;
let routes: Route[];
let fixture: FuzzFixture;

/** A wallet's second and later keys, each from its own SIWE sign-in. */
async function anotherKey(baseUrl: string, wallet: ReturnType<typeof privateKeyToAccount>) {
  return new PondClient({ baseUrl }).signIn(wallet);
}

beforeAll(async () => {
  dev = await startWranglerDev({});
  routes = routesOf(await (await fetch(`${dev.url}/openapi.json`)).json());

  const wallet = privateKeyToAccount(generatePrivateKey());
  const client = new PondClient({ baseUrl: dev.url });
  await client.signIn(wallet);
  const spare = await anotherKey(dev.url, wallet);
  const revoked = await anotherKey(dev.url, wallet);
  await client.request("DELETE", `/v1/auth/keys/${revoked.id}`);
  const other = new PondClient({ baseUrl: dev.url });
  await other.signIn(privateKeyToAccount(generatePrivateKey()));

  // Real things for path parameters to name: the fuzz gets past "not found" and touches them.
  const endpoint = (await client.request("POST", "/v1/webhooks", { url: "http://127.0.0.1:9/hook", events: ["job.queued"] })) as { id: string };
  const job = await client.createJob(shellJob("true"));
  const othersJob = await other.createJob(shellJob("true"));
  const delivery = await eventually(async () => {
    const { results } = (await client.request("GET", `/v1/webhooks/${endpoint.id}/deliveries`)) as { results: Array<{ id: string }> };
    return results[0]?.id;
  }, { what: "a delivery to exist" });
  const nonce = SiweNonce.parse(await client.request("POST", "/v1/auth/nonce"));

  fixture = {
    validKey: client.apiKey!,
    otherAccountKey: other.apiKey!,
    revokedKey: revoked.key,
    // Not the main key's own id: a DELETE of it would lock the fuzz out for the rest of the run.
    realIds: [job.id, othersJob.id, endpoint.id, delivery, spare.id, "default"],
    foreignIds: [othersJob.id],
    validBodies: {
      "POST /v1/jobs": shellJob("true"),
      "POST /v1/webhooks": { url: "http://127.0.0.1:9/other", events: ["job.queued"] },
      "POST /v1/auth/keys": await signSiwe(wallet, nonce),
    },
  };
});

afterAll(async () => {
  await dev?.stop();
});

type Outcome = string;
const outcomeOf = (answer: RawAnswer): Outcome => (answer.kind === "answer" ? String(answer.status) : answer.kind);

describe("the API under a property-based fuzz", () => {
  it("answers every hostile request to every documented route with a 4xx problem or a documented success", async () => {
    console.log(`api fuzz: seed ${SEED} (replay with FUZZ_SEED=${SEED}), ${RUNS_PER_ROUTE} cases per route, ${routes.length} routes`);
    expect(routes.length).toBeGreaterThan(10);
    const origin = new URL(dev.url);
    const tally = new Map<string, Map<Outcome, number>>();
    let tried = 0;
    /** 4xx answers a route gives that its definition does not list: reported, not failed. */
    const undocumented = new Map<string, Set<number>>();
    // Another account's job, named with our key, must never be answered with a success.
    const leakIn = (fuzzCase: FuzzCase, answer: RawAnswer) =>
      answer.kind === "answer" && answer.status < 400 && fuzzCase.request.headers.authorization !== `Bearer ${fixture.otherAccountKey}` && fixture.foreignIds.some((id) => fuzzCase.request.path.includes(id))
        ? `answered ${answer.status} for another account's resource`
        : undefined;

    const successesFor = (route: Route) =>
      // A hostile path parameter can land on another route of the same method (`a%2Fb`, ``): its successes count too.
      new Set(routes.filter((r) => r.method === route.method).flatMap((r) => [...r.statuses].filter((s) => s < 400)));
    const tryCase = async (route: Route, fuzzCase: FuzzCase) => {
      const answer = await sendRaw(origin, fuzzCase.request, REQUEST_TIMEOUT_MS);
      tried += 1;
      const counts = tally.get(routeName(route)) ?? new Map<Outcome, number>();
      counts.set(outcomeOf(answer), (counts.get(outcomeOf(answer)) ?? 0) + 1);
      tally.set(routeName(route), counts);
      if (answer.kind === "answer" && answer.status >= 400 && !route.statuses.has(answer.status)) {
        undocumented.set(routeName(route), (undocumented.get(routeName(route)) ?? new Set()).add(answer.status));
      }
      const fault = faultIn(answer, successesFor(route)) ?? leakIn(fuzzCase, answer);
      if (fault) throw new Error(`${routeName(route)}: ${fault}\nrequest: ${fuzzCase.label}`);
    };

    for (const route of routes) {
      const name = routeName(route);
      await fc.assert(
        fc.asyncProperty(hostileRequest(route, fixture, name), (fuzzCase) => tryCase(route, fuzzCase)),
        { seed: SEED, numRuns: RUNS_PER_ROUTE },
      );
      for (const fuzzCase of tenMegabyteRequests(route, fixture)) await tryCase(route, fuzzCase);
    }

    const summary = [...tally].map(([name, counts]) => `  ${name}: ${[...counts].map(([o, n]) => `${o}×${n}`).join(" ")}`);
    console.log(`api fuzz: tried ${tried} cases (seed ${SEED}); answers by route:\n${summary.join("\n")}`);
    const gaps = [...undocumented].map(([name, statuses]) => `  ${name}: ${[...statuses].sort().join(", ")}`);
    if (gaps.length > 0) console.log(`api fuzz: 4xx answers the OpenAPI document does not list (problem+json all the same):\n${gaps.join("\n")}`);

    // Not a fuzz of the front door only: every authenticated route answered past the key check,
    // and across the run some cases were accepted and some refused field by field.
    for (const route of routes.filter((r) => r.needsAuth)) {
      const outcomes = [...(tally.get(routeName(route))?.keys() ?? [])];
      expect(outcomes.some((o) => o !== "401"), `${routeName(route)} only ever answered 401`).toBe(true);
    }
    const all = [...tally.values()].flatMap((counts) => [...counts.keys()]);
    expect(all.some((o) => o.startsWith("2"))).toBe(true);
    expect(all).toContain("422");
    expect(tried).toBeGreaterThanOrEqual(routes.length * RUNS_PER_ROUTE);
  }, 1_200_000);
});
