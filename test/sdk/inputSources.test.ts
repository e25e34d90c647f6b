// What the SDK does to input files that name earlier jobs' outputs before it signs:
// pins the size and sha256 of a succeeded job's output, leaves those of a job still
// running open and counts its bound into the wait, and signs a deadline that covers
// that wait within the API's 30 days.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import type { ChainInfo } from "../../protocol/account.ts";
import type { Job } from "../../protocol/job.ts";
import { jobLimits } from "../../protocol/limits.ts";
import { PondApiError, signJobAuthorization } from "../../sdk/index.ts";
import { pinInputSources } from "../../sdk/inputSources.ts";

const spec = { image: "busybox", resources: { gpus: 0, cpus: 1, memory_mb: 64 }, timeout_s: 600, max_price_wei: "1" };
const job = (id: string, status: Job["status"], extra: Partial<Job> = {}) => ({ id, status, spec: { ...spec, timeout_s: 900, match_timeout_s: 300 }, output: null, ...extra }) as Job;
const model = { path: "model.pt", size: 12, sha256: "c".repeat(64) };

describe("pinning inputs from other jobs", () => {
  it("fills a succeeded job's output, leaves a running one's open and counts its bound, and leaves others alone", async () => {
    const jobs = new Map([
      ["job_done", job("job_done", "succeeded", { output: { files: [model], result_hash: "0x" } as Job["output"] })],
      ["job_running", job("job_running", "processing")],
    ]);
    const getJob = async (id: string) => {
      const found = jobs.get(id);
      if (!found) throw new PondApiError({ type: "https://pond.dev/problems/not-found", title: "Not found", status: 404, detail: "job was not found" });
      return found;
    };
    const own = { path: "data.csv", size: 1, sha256: "d".repeat(64) };
    const pinned = await pinInputSources(getJob, [
      own,
      { path: "model.pt", from: { job: "job_done", output: "model.pt" } },
      { path: "next.pt", from: { job: "job_running", output: "model.pt" } },
      { path: "ghost.pt", from: { job: "job_ghost", output: "model.pt" } },
    ]);
    expect(pinned.files).toEqual([
      own,
      { path: "model.pt", size: 12, sha256: "c".repeat(64), from: { job: "job_done", output: "model.pt" } },
      { path: "next.pt", from: { job: "job_running", output: "model.pt" } },
      // Not found: left as named, for the API to refuse saying so.
      { path: "ghost.pt", from: { job: "job_ghost", output: "model.pt" } },
    ]);
    expect(pinned).toMatchObject({ waitS: 300 + 900, open: 1 });
  });

  it("signs a deadline that covers the wait, and no further than the API allows", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const chain = { settles_on_chain: true, eip712_domain: { name: "Pond", version: "1", chainId: 1, verifyingContract: "0x00000000000000000000000000000000000000aa" } } as unknown as ChainInfo;
    const now = Math.ceil(Date.now() / 1000);
    const plain = await signJobAuthorization(wallet, chain, spec);
    const waiting = await signJobAuthorization(wallet, chain, spec, { waitS: 3600 });
    expect(waiting.deadline - plain.deadline).toBeGreaterThanOrEqual(3599);
    const far = await signJobAuthorization(wallet, chain, spec, { waitS: 60 * 86_400 });
    expect(far.deadline).toBeLessThanOrEqual(now + jobLimits.maxAuthorizationS + 1);
    expect(far.deadline).toBeGreaterThan(now + jobLimits.maxAuthorizationS - 600);
  });
});
