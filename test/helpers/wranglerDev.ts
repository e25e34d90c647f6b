// `wrangler dev` as a user runs it, on a free port with its own local state,
// migrations applied first (`wrangler d1 migrations apply`, once per migration
// set, then copied: test/helpers/migratedState.ts). Tests talk HTTP and WebSocket to it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { wranglerVarArgs } from "../../scripts/wranglerEnvFile.ts";
import { freePort } from "./freePort.ts";
import { copyMigratedState } from "./migratedState.ts";
import { spawnProcess, type Spawned } from "./processes.ts";

const WRANGLER = "node_modules/.bin/wrangler";

export const TEST_SECRETS_KEY = Buffer.alloc(32, 9).toString("base64");

export interface WranglerDev {
  url: string;
  port: number;
  /** The Worker's DevTools inspector (a CPU profile of its isolate: bench/profileWorker.ts). */
  inspectorPort: number;
  /** Its local state (D1, R2, Durable Objects): what `wrangler … --local --persist-to` commands act on. */
  persist: string;
  process: Spawned;
  /** Kills it as a crash would (SIGKILL), keeping its local state for a restart. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same local state (D1, R2, Durable Objects). */
  restart(): Promise<WranglerDev>;
  /**
   * Runs the Worker's cron handler once. `wrangler dev` never runs cron on its
   * own; this is its trigger route (Miniflare's `/cdn-cgi/local/scheduled`). The
   * handler's work goes on after it answers, in its waitUntil.
   */
  runCron(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWranglerDev(vars: Record<string, string> = {}, reuse?: { persist: string; port: number }): Promise<WranglerDev> {
  const persist = reuse?.persist ?? (await mkdtemp(join(tmpdir(), "pond-wrangler-")));
  // No telemetry, and no fetch of the Request.cf object from the internet (there is none here).
  const env = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1" };
  // A restart keeps its state, migrated when it was first started.
  if (!reuse) await copyMigratedState(persist, { ...process.env, ...env });
  const port = reuse?.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const allVars: Record<string, string> = { SECRETS_KEY: TEST_SECRETS_KEY, PUBLIC_URL: url, ...vars };
  const inspectorPort = await freePort();
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort), "--persist-to", persist];
  // Secrets go in a 0600 file beside the state, not on the command line.
  args.push(...(await wranglerVarArgs(allVars, join(persist, "secrets.env"))));
  const processHandle = spawnProcess(WRANGLER, args, { env, name: "wrangler dev" });
  await processHandle.waitFor(/Ready on http/, 90_000);
  // Ready means listening; wait until the Worker itself answers.
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    port,
    inspectorPort,
    persist,
    process: processHandle,
    kill: () => processHandle.stop("SIGKILL"),
    restart: () => startWranglerDev(vars, { persist, port }),
    async runCron() {
      const response = await fetch(`${url}/cdn-cgi/local/scheduled`);
      if (!response.ok) throw new Error(`the cron trigger answered ${response.status}: ${await response.text()}`);
    },
    async stop() {
      await processHandle.stop("SIGTERM");
      await rm(persist, { recursive: true, force: true });
    },
  };
}
