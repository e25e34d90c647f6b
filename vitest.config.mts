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
        // Plain Node: the provider daemon, the CLI, shared protocol, contracts on anvil.
        test: { name: "node", include: ["test/{protocol,provider,cli,contracts,matching}/**/*.test.ts", "test/p2p/**/*.test.ts"], environment: "node", testTimeout: 30_000 },
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
