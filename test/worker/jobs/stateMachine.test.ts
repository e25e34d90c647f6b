import { describe, expect, it } from "vitest";
import { isTerminal, jobStatuses, type JobStatus } from "../../../protocol/jobStatus.ts";
import { assertTransition, canTransition, IllegalTransitionError } from "../../../worker/jobs/stateMachine.ts";

// The whole table, written out: every pair of states is either here or illegal.
const legal = new Set([
  "queued→starting",
  "queued→failed",
  "queued→canceled",
  "starting→processing",
  "starting→failed",
  "starting→queued",
  "starting→canceled",
  "starting→timed_out",
  "processing→succeeded",
  "processing→failed",
  "processing→canceled",
  "processing→timed_out",
  "processing→queued",
]);

describe("job state machine", () => {
  const pairs = jobStatuses.flatMap((from) => jobStatuses.map((to) => [from, to] as [JobStatus, JobStatus]));

  it.each(pairs)("%s → %s is legal exactly when the table says so", (from, to) => {
    const expected = legal.has(`${from}→${to}`);
    expect(canTransition(from, to)).toBe(expected);
    if (expected) expect(() => assertTransition(from, to)).not.toThrow();
    else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
  });

  it("never lets a terminal state change", () => {
    for (const from of jobStatuses.filter(isTerminal)) {
      for (const to of jobStatuses) expect(canTransition(from, to)).toBe(false);
    }
  });

  it("explains a terminal refusal in words a user understands", () => {
    expect(() => assertTransition("succeeded", "canceled")).toThrow(/already succeeded/);
  });
});
