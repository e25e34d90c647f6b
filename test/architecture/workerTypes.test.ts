// The Worker's Env is generated from wrangler.toml (npm run types:worker): a
// binding added there and not regenerated here fails this test, not production.
import { execFile } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { root } from "../../scripts/importGraph.ts";

const run = promisify(execFile);
const COMMITTED = "worker/worker-configuration.d.ts";
// Beside the committed file, so the generated import paths are the same.
const FRESH = "worker/.worker-configuration.check.d.ts";

/** The file without its first comment lines, which name the path it was written to. */
const body = (text: string) => text.split("\n").filter((line) => !line.startsWith("//")).join("\n");

describe(COMMITTED, () => {
  it("is what wrangler types generates from wrangler.toml now", { timeout: 60_000 }, async () => {
    try {
      await run("node_modules/.bin/wrangler", ["types", FRESH, "--include-runtime=false", "--strict-vars=false"], {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      });
      const [fresh, committed] = await Promise.all([readFile(join(root, FRESH), "utf8"), readFile(join(root, COMMITTED), "utf8")]);
      expect(body(committed)).toBe(body(fresh));
    } finally {
      await rm(join(root, FRESH), { force: true });
    }
  });
});
