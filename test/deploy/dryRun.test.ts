// The deploy configuration cannot rot: every environment in wrangler.toml builds
// with `wrangler deploy --dry-run` with no Cloudflare account and no network,
// binds everything the default environment binds (the one every workerd test
// runs against), and carries vars the Worker's own config parser accepts.
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { unstable_readConfig, type Unstable_Config } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "../../scripts/importGraph.ts";

const run = promisify(execFile);
const WRANGLER = join(root, "node_modules/wrangler/bin/wrangler.js");

/** The deployments and the chain each must name. */
const deployments = [
  { env: "production", chain: "arbitrum" },
  { env: "sepolia", chain: "arbitrum-sepolia" },
] as const;

const readEnv = (env?: string): Unstable_Config => unstable_readConfig({ config: join(root, "wrangler.toml"), env }, { hideWarnings: true });

// Loaded by a computed path: these Worker modules are typed against the Worker's
// ambient Env, which the Node typecheck does not see. At run time they are plain TS.
const workerModule = (path: string) => import(/* @vite-ignore */ join(root, path));
type ParseConfig = (env: Record<string, unknown>) => { isProduction: boolean; chain: { name: string }; publicUrl?: string; siwe: { domain?: string } };

/** Whether this user may make a network namespace: then the dry run gets one with no interfaces up. */
function canIsolateNetwork(): boolean {
  try {
    execFileSync("unshare", ["--net", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface DryRun {
  output: string;
  outdir: string;
}

/** `wrangler deploy --dry-run` as an operator would run it, with an empty home (no login) and no Cloudflare credentials. */
async function dryRun(home: string, env: string | undefined, isolate: boolean): Promise<DryRun> {
  const outdir = join(home, `out-${env ?? "default"}`);
  const args = [WRANGLER, "deploy", "--dry-run", "--outdir", outdir, ...(env ? ["--env", env] : [])];
  const command = isolate ? "unshare" : process.execPath;
  const argv = isolate ? ["--net", process.execPath, ...args] : args;
  const { stdout, stderr } = await run(command, argv, {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: home, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", CI: "true" },
  });
  return { output: stdout + stderr, outdir };
}

describe("wrangler deploy --dry-run", () => {
  const isolate = canIsolateNetwork();
  let home: string;
  let base: Unstable_Config;
  const runs = new Map<string, DryRun>();

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "pond-deploy-"));
    base = readEnv();
    // One after another: each bundles the Worker, and the machine is shared.
    for (const env of [undefined, ...deployments.map((d) => d.env)]) runs.set(env ?? "default", await dryRun(home, env, isolate));
  }, 180_000);
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it(`builds every environment offline${isolate ? " (in a network namespace with no network)" : " (this user cannot make a network namespace: run as root to prove it offline)"}`, async () => {
    for (const [env, result] of runs) {
      expect(result.output, env).toContain("--dry-run: exiting now.");
      expect((await stat(join(result.outdir, "index.js"))).size, env).toBeGreaterThan(0);
    }
  });

  describe.each(deployments)("env $env", ({ env, chain }) => {
    const config = () => readEnv(env);

    it("binds every Durable Object, database, bucket and queue the default environment binds", () => {
      const c = config();
      const output = runs.get(env)!.output;
      expect(c.durable_objects.bindings).toEqual(base.durable_objects.bindings);
      for (const binding of base.durable_objects.bindings) expect(output).toContain(`env.${binding.name} (${binding.class_name})`);

      expect(c.d1_databases.map((d) => [d.binding, d.migrations_dir])).toEqual(base.d1_databases.map((d) => [d.binding, d.migrations_dir]));
      for (const db of c.d1_databases) expect(output).toContain(`env.${db.binding} (${db.database_name})`);
      expect(c.r2_buckets.map((b) => b.binding)).toEqual(base.r2_buckets.map((b) => b.binding));
      for (const bucket of c.r2_buckets) expect(output).toContain(`env.${bucket.binding} (${bucket.bucket_name})`);

      // Its own queues (a queue has one consumer), for the same bindings, consumed as the default's are.
      expect((c.queues.producers ?? []).map((p) => p.binding)).toEqual((base.queues.producers ?? []).map((p) => p.binding));
      for (const producer of c.queues.producers ?? []) {
        expect(producer.queue).toMatch(new RegExp(`^pond-${env}-`));
        expect(output).toContain(`env.${producer.binding} (${producer.queue})`);
      }
      const shape = (consumers: typeof c.queues.consumers) => (consumers ?? []).map(({ queue: _q, dead_letter_queue: _d, ...rest }) => rest);
      expect(shape(c.queues.consumers)).toEqual(shape(base.queues.consumers));
    });

    it("has its own database and bucket, not the local defaults", () => {
      const c = config();
      expect(c.name).toBe(`${base.name}-${env}`);
      expect(c.d1_databases[0]!.database_id).not.toBe(base.d1_databases[0]!.database_id);
      expect(c.d1_databases[0]!.database_name).not.toBe(base.d1_databases[0]!.database_name);
      expect(c.r2_buckets[0]!.bucket_name).not.toBe(base.r2_buckets[0]!.bucket_name);
    });

    it("sends dead letters to the queue the Worker's consumer recognises", async () => {
      const { getConfig } = (await workerModule("worker/config/config.ts")) as { getConfig: (env: Record<string, unknown>) => { webhooks: { deadLetterQueue: string } } };
      const WEBHOOK_DLQ = getConfig({ ...config().vars, SECRETS_KEY: Buffer.alloc(32, 1).toString("base64") }).webhooks.deadLetterQueue;
      const consumers = config().queues.consumers ?? [];
      expect(consumers.map((consumer) => consumer.queue)).toContain(WEBHOOK_DLQ);
      expect(consumers.filter((consumer) => consumer.queue !== WEBHOOK_DLQ).map((consumer) => consumer.dead_letter_queue)).toEqual([WEBHOOK_DLQ]);
    });

    it("keeps the cron that runs the sweeper and the indexer's safety net", () => {
      expect(config().triggers.crons).toEqual(base.triggers.crons);
      expect(config().triggers.crons?.length).toBeGreaterThan(0);
    });

    it(`has vars the Worker accepts for production on ${chain}, with the public URL, SIWE domain and route agreeing`, async () => {
      const { getConfig } = (await workerModule("worker/config/config.ts")) as { getConfig: ParseConfig };
      const c = config();
      // Secrets are not in wrangler.toml: stand-ins of the right shape, as `wrangler secret put` would add.
      const secrets = { SECRETS_KEY: Buffer.alloc(32, 1).toString("base64"), RPC_URL: "https://rpc.invalid", RELAYER_PRIVATE_KEY: `0x${"11".repeat(32)}` };
      const parsed = getConfig({ ...c.vars, ...secrets });
      expect(parsed.isProduction).toBe(true);
      expect(parsed.chain.name).toBe(chain);
      const host = new URL(parsed.publicUrl!).host;
      expect(parsed.siwe.domain).toBe(host);
      expect(c.routes).toEqual([{ pattern: host, custom_domain: true }]);
      expect(c.workers_dev).toBe(false);
    });

    it("lists no secret in its vars", () => {
      for (const name of ["SECRETS_KEY", "RPC_URL", "RELAYER_PRIVATE_KEY"]) expect(config().vars).not.toHaveProperty(name);
    });
  });
});
