// A sweep is created as one batch; the API's refusal of it is said in the sweep's
// terms: a refused job by its point, a short escrow by the whole sweep's price.
import { describe, expect, it } from "vitest";
import { UsageError } from "../../cli/errors.ts";
import { exitCodes } from "../../cli/exitCodes.ts";
import { planImageJobs, sweepRefusal } from "../../cli/sweep/sweepPlan.ts";
import { parseGrid, pointsOf } from "../../cli/sweep/grid.ts";
import { PondApiError } from "../../sdk/index.ts";

const options = { image: "busybox", gpus: 0, cpus: 0.5, memory: 128, timeout: 60, maxPrice: "500000000000000000", wait: true, metricsFile: "metrics.json" };
const planned = planImageJobs(["true"], options, pointsOf(parseGrid(["LR=0.1,0.01,0.001"])), []);
const problem = (status: number, detail: string, errors?: Array<{ path: string; message: string }>) =>
  new PondApiError({ type: "https://pond.dev/problems/x", title: "Refused", status, detail, ...(errors ? { errors } : {}) });

describe("a sweep's refusal", () => {
  it("names the point of the job the API refused, and says nothing was created", () => {
    const said = sweepRefusal(problem(422, "1 of the batch's 3 jobs was refused", [{ path: "jobs.2.env", message: "too long" }]), planned);
    expect(said).toBeInstanceOf(UsageError);
    expect((said as UsageError).message).toMatch(/^--grid LR=0\.001: .*jobs\.2\.env: too long\nnone of the sweep's jobs was created$/s);
    expect((said as UsageError).exitCode).toBe(exitCodes.usage);
    // A refusal that is not about what a job says keeps its own exit code.
    expect((sweepRefusal(problem(404, "jobs.1: the template was not found"), planned) as UsageError).message).toMatch(/^--grid LR=0\.01: /);
  });

  it("says a short escrow by the whole sweep's price, with the API's own figures", () => {
    const said = sweepRefusal(problem(402, "your escrow has 1 wei free; these 3 jobs may cost up to 1500000000000000000 wei together"), planned);
    expect((said as UsageError).message).toMatch(/^this sweep's 3 jobs may cost up to 1\.5 ETH together .*none was created \(your escrow has 1 wei free; these 3 jobs/);
    expect((said as UsageError).exitCode).toBe(exitCodes.refused);
  });

  it("leaves any other failure as it was", () => {
    const unreachable = new TypeError("fetch failed");
    expect(sweepRefusal(unreachable, planned)).toBe(unreachable);
    const noPlace = problem(409, "conflict");
    expect(sweepRefusal(noPlace, planned)).toBe(noPlace);
  });
});
