// Resolving a job whose input is another job's output, on rows as D1 holds them:
// a paid job whose authorization's deadline no longer leaves room to match and run
// it once its inputs are known fails saying so, rather than run unpaid.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobs } from "../../../worker/db/schema.ts";
import { resolveDependent } from "../../../worker/jobs/inputResolution.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { db, insertJob, unmatchableSpec } from "../chain/jobRows.ts";

const model = { path: "model.pt", size: 5, sha256: "a".repeat(64) };

async function dependentOf(deadlineFromNowS: number) {
  const source = await insertJob("source", { status: "succeeded", settlement: "none", authSignature: null, authDeadline: null, output: { files: [model], result_hash: `0x${"ab".repeat(32)}` } });
  return insertJob("dependent", {
    spec: { ...unmatchableSpec, timeout_s: 600, match_timeout_s: 600, input_files: [{ path: "model.pt", from: { job: source.id, output: "model.pt" } }] },
    settlement: "pending",
    authDeadline: Math.floor(Date.now() / 1000) + deadlineFromNowS,
  });
}

describe("resolving a paid job's inputs", () => {
  it("fails a job whose deadline passed while it waited, and resolves one whose deadline leaves room", async () => {
    const ctx = jobContextFor(env, { db, baseUrl: "https://pond.test" });
    const late = await dependentOf(900);
    expect(await resolveDependent(ctx, late.id)).toBeUndefined();
    const [failed] = await db.select().from(jobs).where(eq(jobs.id, late.id));
    expect(failed).toMatchObject({ status: "failed", resolvedInputFiles: null });
    const left = /^its inputs were known only (\d+) s before its authorization's deadline: too late to match and run it/.exec(failed!.error ?? "");
    // The deadline was 900 s away when the job was made; a loaded machine takes a moment or two to get here.
    expect(Number(left?.[1])).toBeGreaterThan(800);
    expect(Number(left?.[1])).toBeLessThanOrEqual(900);

    const timely = await dependentOf(3 * 3600);
    const ready = await resolveDependent(ctx, timely.id);
    expect(ready).toMatchObject({ status: "queued", resolvedInputFiles: [{ ...model, from: { job: expect.stringMatching(/^job_source_/), output: "model.pt" } }] });
  });
});
