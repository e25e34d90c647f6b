import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// A fixed key for tests only; real deployments set SECRETS_KEY as a secret.
const TEST_SECRETS_KEY = Buffer.alloc(32, 7).toString("base64");

export default defineConfig({
  test: {
    projects: [
      {
        // Inside workerd: the Worker, its Durable Objects, D1, R2 and Queues.
        plugins: [
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
                // Short, so a signal for an absent peer comes back as an error in a test's time.
                SIGNAL_WAIT_MS: "1500",
                // A coturn-style TURN REST backend, so /v1/ice-servers has credentials to issue.
                STUN_URLS: "stun:127.0.0.1:3478",
                TURN_URLS: "turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp",
                TURN_SHARED_SECRET: "pond-test-turn-secret-0123456789",
                TEST_MIGRATIONS: await readD1Migrations("./migrations"),
              },
            },
          })),
        ],
        test: {
          name: "workerd",
          include: ["test/worker/**/*.test.ts"],
          setupFiles: ["./test/worker/setup.ts"],
          globalSetup: ["./test/worker/globalSetup.ts"],
          testTimeout: 40_000,
        },
      },
      {
        // Plain Node: the provider daemon, the CLI, the SDK, shared protocol, the peer-to-peer engine, contracts on anvil, the dashboard's pure browser code.
        test: { name: "node", include: ["test/{protocol,keys,sdk,provider,cli,contracts,architecture,deploy,web,p2p}/**/*.test.ts"], environment: "node", testTimeout: 30_000 },
      },
      {
        // The whole stack: wrangler dev, a Docker engine, anvil, provider daemons.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
