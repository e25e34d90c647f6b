import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ResultMessage } from "../../protocol/hubMessages.ts";
import { ResultOutbox } from "../../provider/outbox.ts";
import { useTempDir } from "../helpers/tempDir.ts";

const log = pino({ level: "silent" });
const result = (jobId: string): ResultMessage => ({
  v: 1,
  type: "job.result",
  job_id: jobId,
  outcome: "failed",
  exit_code: 1,
  error: "boom",
  manifest: null,
  amount_wei: "0",
  signature: null,
});

const tempDir = useTempDir("outbox");

describe("ResultOutbox", () => {
  it("keeps results across a restart until they are removed", async () => {
    const file = join(tempDir(), "outbox.json");
    const outbox = new ResultOutbox(file, log);
    await outbox.add(result("job_a"));
    await outbox.add(result("job_b"));
    await outbox.remove("job_a");
    const again = new ResultOutbox(file, log);
    await again.load();
    expect(again.pending().map((r) => r.job_id)).toEqual(["job_b"]);
  });

  it("loads the good entries of a file with a bad one", async () => {
    const file = join(tempDir(), "outbox.json");
    await writeFile(file, JSON.stringify({ job_a: result("job_a"), job_bad: { type: "job.result", job_id: "job_bad" }, job_b: result("job_b") }));
    const outbox = new ResultOutbox(file, log);
    await outbox.load();
    expect(outbox.pending().map((r) => r.job_id)).toEqual(["job_a", "job_b"]);
  });

  it("moves a file that is not JSON aside and starts empty", async () => {
    const file = join(tempDir(), "outbox.json");
    await writeFile(file, "{half");
    const outbox = new ResultOutbox(file, log);
    await outbox.load();
    expect(outbox.pending()).toEqual([]);
    const names = await readdir(tempDir());
    expect(names.some((name) => name.startsWith("outbox.json.unreadable-"))).toBe(true);
  });

  it("saves again after a save failed", async () => {
    const folder = join(tempDir(), "state");
    const file = join(folder, "outbox.json");
    const outbox = new ResultOutbox(file, log);
    // A file where the outbox's folder should be: the save fails (as a full or broken disk would).
    await writeFile(folder, "in the way");
    await expect(outbox.add(result("job_a"))).rejects.toThrow();
    await rm(folder);
    await outbox.add(result("job_b"));
    expect(Object.keys(JSON.parse(await readFile(file, "utf8")))).toEqual(["job_a", "job_b"]);
  });
});
