// A job that floods its log (256 MiB to stdout), on the whole stack: `wrangler
// dev`, a real provider daemon and the Docker engine. The daemon forwards the
// log within its budget, so the Worker is sent little of it: the API answers all
// along, the job ends with its result, the exact end of its log is stored on the
// job, and the CLI's follow sees how much was dropped.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { followLogs } from "../../cli/followLogs.ts";
import { logLimits } from "../../protocol/limits.ts";
import { PondClient } from "../../sdk/index.ts";
import { shellJob } from "../helpers/jobs.ts";
import { startProvider, type ProviderProcess } from "../helpers/providerProcess.ts";
import { startWranglerDev, type WranglerDev } from "../helpers/wranglerDev.ts";

/** 256 MiB: hundreds of MB, as in the flood that was seen, and about a minute of Docker's logging here. */
const FLOOD_BYTES = 256 * 1024 * 1024;
const FLOOD_LINE = `flood ${"x".repeat(57)}\n`;
const ENDING = Array.from({ length: 400 }, (_, i) => `end ${i + 1}\n`).join("");
/** A request that gets no answer at all in this long has been missed. */
const ANSWER_WITHIN_MS = 30_000;

let dev: WranglerDev;
let provider: ProviderProcess;
let client: PondClient;

beforeAll(async () => {
  dev = await startWranglerDev();
  provider = await startProvider(dev.url, ["--max-cpus", "2", "--max-memory-mb", "2048"]);
  client = new PondClient({ baseUrl: dev.url });
  await client.signIn(privateKeyToAccount(generatePrivateKey()));
});

afterAll(async () => {
  await provider?.remove();
  await dev?.stop();
});

/** Asks the API about the job again and again until stopped, counting answers and what went wrong. */
function keepAsking(jobId: string) {
  const failures: string[] = [];
  let answers = 0;
  let stopped = false;
  const asking = (async () => {
    while (!stopped) {
      for (const path of ["/healthz", `/v1/jobs/${jobId}`]) {
        try {
          const response = await fetch(`${dev.url}${path}`, { headers: { authorization: `Bearer ${client.apiKey}` }, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
          await response.arrayBuffer();
          if (response.ok) answers += 1;
          else failures.push(`${path}: ${response.status}`);
        } catch (error) {
          failures.push(`${path}: ${String(error)}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await asking;
      return { answers, failures };
    },
  };
}

const NOTICE = /^\n?\[pond: [^\]]* of output dropped \((\d+) bytes\)\]\n/gm;

describe("a job that floods its log", () => {
  it("ends with its result and the exact end of its log, while the API answers and the follower is told what was dropped", { timeout: 600_000 }, async () => {
    expect(FLOOD_LINE.length).toBe(64);
    const created = await client.createJob(shellJob(`yes "${FLOOD_LINE.trimEnd()}" | head -c ${FLOOD_BYTES}; printf '${ENDING.replaceAll("\n", "\\n")}'`, { timeout_s: 900 }));
    const asking = keepAsking(created.id);
    let printed = "";
    const done = await followLogs(client, created.id, { write: (text) => (printed += text) });
    const { answers, failures } = await asking.stop();

    expect(done.status, done.error ?? "").toBe("succeeded");
    expect(failures).toEqual([]);
    expect(answers).toBeGreaterThan(0);

    // The tail stored on the job is exactly how the output ended: whole flood lines, then the ending.
    const logs = done.logs ?? "";
    expect(logs.endsWith(ENDING)).toBe(true);
    const before = logs.slice(0, logs.length - ENDING.length);
    expect(before.length).toBeGreaterThan(0);
    expect(before.split("\n").slice(0, -1).every((line) => `${line}\n` === FLOOD_LINE)).toBe(true);

    // The follower saw the same end, and the gaps announced with what they dropped.
    expect(printed.endsWith(ENDING)).toBe(true);
    const dropped = [...printed.matchAll(NOTICE)].reduce((sum, match) => sum + Number(match[1]), 0);
    const received = printed.replace(NOTICE, "").length;
    console.info(`log flood: ${FLOOD_BYTES} bytes printed; the follower received ${received} and was told of ${dropped} dropped; the API answered ${answers} requests meanwhile`);
    expect(dropped).toBeGreaterThan(0);
    // Nothing twice: what came and what was said to be dropped is no more than was printed.
    expect(received + dropped).toBeLessThanOrEqual(FLOOD_BYTES + ENDING.length);
    // What the Worker was sent kept to the budget over the job's life (its end held back, then sent whole).
    const lifeS = (Date.parse(done.completed_at!) - Date.parse(done.started_at!)) / 1000 + 1;
    expect(received).toBeLessThanOrEqual(logLimits.forwardBurstBytes + logLimits.forwarderTailBytes + logLimits.forwardBytesPerSecond * lifeS);
  });
});
