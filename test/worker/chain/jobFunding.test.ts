// One authorization, one job: the job key is unique in D1, however close two
// requests with the same key come.
import { env } from "cloudflare:test";
import { keccak256, stringToHex } from "viem";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../worker/errors/problem.ts";
import { insertQueuedJobs } from "../../../worker/jobs/insert.ts";
import { jobContextFor } from "../../../worker/wiring/jobContext.ts";
import { CREATOR, db, unmatchableSpec } from "./jobRows.ts";
import { accounts } from "../../../worker/db/schema.ts";

describe("a job key", () => {
  it("is refused for a second job even when both passed the check (409 job-key-used)", async () => {
    await db.insert(accounts).values({ address: CREATOR, webhookSecretEnc: "x" }).onConflictDoNothing();
    const announcements: Promise<unknown>[] = [];
    const ctx = jobContextFor(env, { db, baseUrl: "https://pond.test", defer: (work) => announcements.push(work) });
    const jobKey = keccak256(stringToHex(crypto.randomUUID()));
    const row = (id: string) => ({
      id,
      account: CREATOR,
      status: "queued",
      spec: unmatchableSpec,
      chainJobId: jobKey,
      authSignature: `0x${"11".repeat(65)}`,
      authDeadline: 1_900_000_000,
      settlement: "reserving",
      webhookEventsFilter: [],
      createdAt: Date.now(),
    });

    await insertQueuedJobs(ctx, [row(`job_first_${crypto.randomUUID().replaceAll("-", "")}`)]);
    const second = await insertQueuedJobs(ctx, [row(`job_second_${crypto.randomUUID().replaceAll("-", "")}`)]).catch((error: unknown) => error);
    expect(second).toBeInstanceOf(ApiError);
    expect((second as ApiError).toProblem()).toMatchObject({ status: 409, type: "https://pond.dev/problems/job-key-used" });
    await Promise.allSettled(announcements);
  });
});
