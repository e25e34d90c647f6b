// A sweep is created as one batch; the API's refusal of it is said in the sweep's
// terms (a refused job by its point, a short escrow by the whole sweep), and a
// failure that is not a refusal (an answer lost) is checked for jobs it left.
import { describe, expect, it } from "vitest";
import { PartialFailure, UsageError } from "../../cli/errors.ts";
import { exitCodes } from "../../cli/exitCodes.ts";
import { planImageJobs, sweepRefusal } from "../../cli/sweep/sweepPlan.ts";
import { parseGrid, pointsOf } from "../../cli/sweep/grid.ts";
import type { Job } from "../../protocol/job.ts";
import { PondApiError, type PondClient } from "../../sdk/index.ts";
import { whatWasLeft } from "../../cli/sweep/runSweep.ts";

const options = { image: "busybox", gpus: 0, cpus: 0.5, memory: 128, timeout: 60, maxPrice: "500000000000000000", wait: true, metricsFile: "metrics.json" };
const planned = planImageJobs(["true"], options, pointsOf(parseGrid(["LR=0.1,0.01,0.001"])), []);
const problem = (status: number, detail: string, errors?: Array<{ path: string; message: string }>) =>
  new PondApiError({ type: "https://pond.dev/problems/x", title: "Refused", status, detail, ...(errors ? { errors } : {}) });

describe("a sweep's refusal", () => {
  it("names the point of the job the API refused, and says nothing was created", () => {
    const said = sweepRefusal(problem(422, "1 of the batch's 3 jobs was refused", [{ path: "jobs.2.env", message: "too long" }]), planned);
    expect(said).toBeInstanceOf(UsageError);
    expect((said as UsageError).message).toMatch(/^the point LR=0\.001: .*jobs\.2\.env: too long\nnone of the sweep's jobs was created$/s);
    expect((said as UsageError).exitCode).toBe(exitCodes.usage);
    // A refusal that is not about what a job says keeps its own exit code.
    expect((sweepRefusal(problem(404, "jobs.1: the template was not found"), planned) as UsageError).message).toMatch(/^the point LR=0\.01: /);
  });

  it("says a short escrow by the whole sweep's price, with the API's own figures", () => {
    const said = sweepRefusal(problem(402, "your escrow has 1 wei free; these 3 jobs may cost up to 1500000000000000000 wei together"), planned);
    expect((said as UsageError).message).toMatch(/^this sweep's 3 jobs together may cost more than your escrow has free \(pond balance\): .*none was created \(your escrow has 1 wei free; these 3 jobs/);
    expect((said as UsageError).exitCode).toBe(exitCodes.refused);
  });

  it("leaves any other failure as it was", () => {
    const unreachable = new TypeError("fetch failed");
    expect(sweepRefusal(unreachable, planned)).toBe(unreachable);
    const noPlace = problem(409, "conflict");
    expect(sweepRefusal(noPlace, planned)).toBe(noPlace);
  });
});

describe("a sweep whose batch create failed without a refusal", () => {
  const job = (id: string) => ({ id }) as Job;
  const lost = new TypeError("fetch failed");
  /** `found` in the sweep's order, oldest first; listed newest first, as the API lists them. */
  const sdkFinding = (found: Job[] | Error, canceled: string[] = []) =>
    ({
      listJobs: async (query: { label: string[] }) => {
        expect(query.label).toEqual(["pond.sweep=swp_0123456789"]);
        if (found instanceof Error) throw found;
        return { results: [...found].reverse(), next: null, previous: null };
      },
      cancelJob: async (id: string) => {
        if (id === "job_stuck") throw new Error("refused");
        canceled.push(id);
        return job(id);
      },
    }) as unknown as PondClient;

  it("names the jobs the API created though the answer was lost, under `left` for a script", async () => {
    const left = (await whatWasLeft(sdkFinding([job("job_a"), job("job_b")]), "swp_0123456789", lost, false)) as PartialFailure;
    expect(left).toBeInstanceOf(PartialFailure);
    expect(left.failure).toBe(lost);
    expect(left.whatWasLeft).toMatch(/its 2 jobs were created though the answer was lost; they go on \(pond sweep cancel swp_0123456789/);
    expect(left.left).toEqual({ sweep: "swp_0123456789", created: ["job_a", "job_b"] });
  });

  it("cancels them when their --input files come only from this command, saying which could not be", async () => {
    const canceled: string[] = [];
    const left = (await whatWasLeft(sdkFinding([job("job_a"), job("job_stuck")], canceled), "swp_0123456789", lost, true)) as PartialFailure;
    expect(canceled).toEqual(["job_a"]);
    expect(left.left).toEqual({ sweep: "swp_0123456789", canceled: ["job_a"] });
    expect(left.whatWasLeft).toMatch(/1 canceled, since their --input files come from this machine/);
  });

  it("passes the failure on when nothing was created, and says where to look when that cannot be read", async () => {
    expect(await whatWasLeft(sdkFinding([]), "swp_0123456789", lost, false)).toBe(lost);
    const unknown = (await whatWasLeft(sdkFinding(new TypeError("fetch failed")), "swp_0123456789", lost, false)) as PartialFailure;
    expect(unknown.whatWasLeft).toMatch(/whether its jobs were created is not known; pond sweep show swp_0123456789 says/);
  });
});
