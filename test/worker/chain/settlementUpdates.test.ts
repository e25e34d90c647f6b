// What a reservation that could not be made does to its job.
import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { markUnfunded } from "../../../worker/chain/settlementUpdates.ts";
import { jobs } from "../../../worker/db/schema.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { claimed, db, insertJob } from "./jobRows.ts";

const current = async (id: string) => (await db.select().from(jobs).where(eq(jobs.id, id)))[0]!;

describe("markUnfunded", () => {
  it("fails a running job whose reservation never reached the chain", async () => {
    const job = await insertJob("unfunded-running", { status: "processing", startedAt: Date.now() });
    await markUnfunded(jobContextFor(env), job.id, "InsufficientEscrow");
    expect(await current(job.id)).toMatchObject({ status: "failed", settlement: "unfunded", error: expect.stringContaining("InsufficientEscrow") });
  });

  it("leaves a finished job's status alone: a succeeded job stays succeeded, unpaid", async () => {
    const job = await insertJob("unfunded-succeeded", { ...claimed(), completedAt: Date.now() });
    await markUnfunded(jobContextFor(env), job.id, "InsufficientEscrow");
    expect(await current(job.id)).toMatchObject({ status: "succeeded", settlement: "unfunded" });
  });

  it("does not touch a job whose reservation the chain holds", async () => {
    const job = await insertJob("reserved-after-all", { status: "processing", startedAt: Date.now(), settlement: "pending" });
    await markUnfunded(jobContextFor(env), job.id, "JobIdUsed");
    expect(await current(job.id)).toMatchObject({ status: "processing", settlement: "pending" });
  });
});
