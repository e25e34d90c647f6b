// What the hub keeps of each job it holds (hub/heldJobs.ts) stays small and bounded:
// a spec may run to megabytes, and a leak must not grow without end.
import { describe, expect, it } from "vitest";
import { HeldJobs, MAX_HELD, type HeldJob } from "../../../worker/hub/heldJobs.ts";

const head = (id: string): HeldJob => ({ id, status: "processing", provider: "0xabc", account: "0xdef", webhook: null, webhookEventsFilter: [], chainJobId: `0x${id}`, maxAmountWei: "100" });

describe("HeldJobs", () => {
  it("keeps the columns its steps read and nothing else of the row", () => {
    const held = new HeldJobs();
    held.keep({ ...head("a"), spec: { env: { BIG: "x".repeat(1_000_000) } }, output: { files: [] } } as HeldJob);
    expect(held.get("a")).toEqual(head("a"));
  });

  it("drops the oldest past its bound, and a job kept again counts as new", () => {
    const held = new HeldJobs();
    for (let i = 0; i < MAX_HELD; i++) held.keep(head(String(i)));
    held.keep(head("0")); // kept again: now the newest
    held.keep(head("extra"));
    expect(held.get("0")).toBeDefined();
    expect(held.get("1")).toBeUndefined();
    expect(held.get("extra")).toBeDefined();
    held.drop("extra");
    expect(held.get("extra")).toBeUndefined();
  });
});
