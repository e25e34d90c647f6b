import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { readFileSync, readdirSync } from "node:fs";
import { defineConfig } from "vitest/config";

// A fixed key for tests only; real deployments set SECRETS_KEY as a secret.
const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString("base64");

const workerdPlugin = () =>
  cloudflareTest(async () => ({
    main: "./worker/index.ts",
    wrangler: { configPath: "./wrangler.toml" },
    miniflare: {
      bindings: {
        SECRETS_KEY: TEST_SECRETS_KEY,
        // More than one hub shard, so nothing silently assumes a single object.
        HUB_SHARDS: "3",
        // Short, so retry and dead-letter paths run in seconds; the real schedule is unit-tested.
        WEBHOOK_RETRY_SCHEDULE: "1,1",
        OFFER_TIMEOUT_MS: "1500",
        // A batch's early stopping judges often, so its tests see a stop within a second or two.
        SWEEP_JUDGE_INTERVAL_MS: "250",
        // Short, so a signal for an absent peer comes back as an error in a test's time.
        SIGNAL_WAIT_MS: "1500",
        // A coturn-style TURN REST backend, so /v1/ice-servers has credentials to issue.
        STUN_URLS: "stun:127.0.0.1:3478",
        TURN_URLS: "turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp",
        TURN_SHARED_SECRET: "pond-test-turn-secret-0123456789",
        TEST_MIGRATIONS: await readD1Migrations("./migrations"),
      },
    },
  }));

const workerdTestOptions = { setupFiles: ["./test/worker/setup.ts"], globalSetup: ["./test/worker/globalSetup.ts"], testTimeout: 40_000 };

/**
 * test/worker/ files split by whether they use the Worker's runtime state: a file that imports
 * cloudflare:* or one of test/worker's helpers (../client.ts, ../providerSocket.ts, …), or touches
 * SELF or env, keeps a runtime and storage of its own; the rest test pure functions.
 */
function partitionWorkerTests(dir = "test/worker"): { usingRuntime: string[]; pure: string[] } {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".test.ts")).map((name) => `${dir}/${name}`).sort();
  const usesRuntime = (file: string) => /from "cloudflare:|from "\.\.\/[A-Za-z]|\bSELF\b|\benv\./.test(readFileSync(file, "utf8"));
  return { usingRuntime: files.filter(usesRuntime), pure: files.filter((file) => !usesRuntime(file)) };
}
const workerTests = partitionWorkerTests();
/**
 * Files that connect a provider (test/worker/providerSocket.ts, assignedJob.ts): the matchmaker offers
 * it whatever is queued, so another file's jobs in the same storage would change what it is given.
 * They keep a runtime and storage of their own; the other runtime files share one.
 */
const connectsProvider = (file: string) => /providerSocket\.ts"|assignedJob\.ts"/.test(readFileSync(file, "utf8"));

export default defineConfig({
  test: {
    projects: [
      {
        // Inside workerd: the Worker, its Durable Objects, D1, R2 and Queues; each of these files in a fresh runtime, with its own storage.
        plugins: [workerdPlugin()],
        test: { name: "workerd", include: workerTests.usingRuntime.filter(connectsProvider), ...workerdTestOptions },
      },
      {
        // Inside workerd, the rest of the files that use the Worker's runtime: one runtime and storage for
        // all of them. Each makes its own accounts, jobs and providers and looks only at those.
        plugins: [workerdPlugin()],
        test: { name: "workerd-shared", include: workerTests.usingRuntime.filter((file) => !connectsProvider(file)), isolate: false, ...workerdTestOptions },
      },
      {
        // Inside workerd, pure code only (no bindings, no SELF): one runtime for all these files, since
        // a fresh one per file (~7-14 s here, loading the Worker's module graph again) is most of their time.
        plugins: [workerdPlugin()],
        test: { name: "workerd-pure", include: workerTests.pure, isolate: false, ...workerdTestOptions },
      },
      {
        // Plain Node: the provider daemon, the CLI, the SDK, shared protocol, the peer-to-peer engine, contracts on anvil, the dashboard's pure browser code.
        test: { name: "node", include: ["test/{protocol,keys,sdk,provider,cli,contracts,architecture,deploy,web,p2p}/**/*.test.ts"], environment: "node", testTimeout: 30_000, hookTimeout: 60_000 },
      },
      {
        // The whole stack: wrangler dev, a Docker engine, anvil, provider daemons. Files may
        // run side by side (npm test runs two at a time, scripts/testSuites.ts): each brings
        // up its own stack on free ports with its own state, and finds its containers and
        // processes by its own labels and process tree.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
