// The routes bench:api loads and bench:profile samples, against one `wrangler dev`
// with the bench routes mounted: a signed-in creator, the job body every create
// sends, a job to get, and a bare row to select, each route as autocannon options.
import type autocannon from "autocannon";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PondClient } from "../../sdk/index.ts";
import { startWranglerDev, type WranglerDev } from "../../test/helpers/wranglerDev.ts";

export type ApiRoute = "insert" | "create" | "select" | "get";

export async function startApiRoutes(): Promise<{ dev: WranglerDev; routes: Record<ApiRoute, autocannon.Options> }> {
  const dev = await startWranglerDev({ BENCH_ROUTES: "true", HUB_SHARDS: "4" });
  try {
    const client = new PondClient({ baseUrl: dev.url });
    await client.signIn(privateKeyToAccount(generatePrivateKey()));
    const auth = { authorization: `Bearer ${client.apiKey}`, "content-type": "application/json" };
    const jobBody = JSON.stringify({ image: "ghcr.io/pond/example:1", cmd: ["echo", "hi"], resources: { gpus: 0, cpus: 1, memory_mb: 256 }, timeout_s: 60, max_price_wei: "1000" });
    const existing = await client.createJob(JSON.parse(jobBody));
    const row = (await (await fetch(`${dev.url}/bench/insert`, { method: "POST", body: "seed" })).json()) as { id: string };
    const routes: Record<ApiRoute, autocannon.Options> = {
      insert: { url: `${dev.url}/bench/insert`, method: "POST", body: jobBody, headers: { "content-type": "application/json" } },
      create: { url: `${dev.url}/v1/jobs`, method: "POST", body: jobBody, headers: auth },
      select: { url: `${dev.url}/bench/select/${row.id}` },
      get: { url: `${dev.url}/v1/jobs/${existing.id}`, headers: auth },
    };
    return { dev, routes };
  } catch (error) {
    await dev.stop();
    throw error;
  }
}
