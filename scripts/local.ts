// `npm start`: the whole Pond network on this machine, on its embedded local
// defaults — the Worker under `wrangler dev` (local D1, R2, Queues, Durable
// Objects), and a provider daemon on the local Docker engine. Ctrl-C stops it all.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { spawnProcess, type Spawned } from "../test/helpers/processes.ts";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const state = join(root, ".pond");
const port = Number(process.env.POND_PORT ?? 8787);
const api = `http://127.0.0.1:${port}`;
const wranglerEnv = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };

/** Local secrets, made once and kept in .pond/ (git-ignored). */
async function localSecret(name: string, make: () => string): Promise<string> {
  const file = join(state, `${name}.secret`);
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const value = make();
    await writeFile(file, `${value}\n`, { mode: 0o600 });
    return value;
  }
}

const children: Spawned[] = [];
async function stopAll(): Promise<void> {
  for (const child of children.reverse()) await child.stop("SIGTERM");
}
process.on("SIGINT", () => void stopAll().then(() => process.exit(0)));
process.on("SIGTERM", () => void stopAll().then(() => process.exit(0)));

async function main(): Promise<void> {
  await mkdir(state, { recursive: true, mode: 0o700 });
  const persist = join(state, "wrangler");
  const secretsKey = await localSecret("secrets-key", () => randomBytes(32).toString("base64"));

  console.log("pond: applying D1 migrations");
  await run("node_modules/.bin/wrangler", ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { cwd: root, env: { ...process.env, ...wranglerEnv } });

  const vars: Record<string, string> = { SECRETS_KEY: secretsKey, PUBLIC_URL: api };
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const worker = spawnProcess("node_modules/.bin/wrangler", args, { cwd: root, env: wranglerEnv, name: "wrangler dev" });
  children.push(worker);
  worker.child.stdout!.on("data", (data: Buffer) => process.stdout.write(prefix("worker", data)));
  worker.child.stderr!.on("data", (data: Buffer) => process.stderr.write(prefix("worker", data)));
  await worker.waitFor(/Ready on http/, 120_000);

  const provider = spawnProcess("node_modules/.bin/tsx", ["provider/main.ts", "--api", api, "--data-dir", join(state, "provider")], { cwd: root, name: "provider" });
  children.push(provider);
  provider.child.stdout!.on("data", (data: Buffer) => process.stdout.write(prefix("provider", data)));
  provider.child.stderr!.on("data", (data: Buffer) => process.stderr.write(prefix("provider", data)));
  await provider.waitFor(/connected to the hub/, 60_000);

  console.log(`
Pond is running locally.
  API        ${api}
  API docs   ${api}/docs   (OpenAPI: ${api}/openapi.json)
  provider   one daemon on the local Docker engine

Get an API key (signs in with a local wallet, Sign-In with Ethereum):
  npm run pond -- login --api ${api}
Run a job:
  npm run pond -- run --image pond-test/busybox:2 -- sh -c 'echo hello from Pond > /outputs/hello.txt; cat /outputs/hello.txt'

Ctrl-C stops everything.`);
}

function prefix(name: string, data: Buffer): string {
  return data
    .toString()
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => `[${name}] ${line}\n`)
    .join("");
}

main().catch(async (error: unknown) => {
  console.error(`pond: could not start: ${error instanceof Error ? error.message : String(error)}`);
  await stopAll();
  process.exit(1);
});
