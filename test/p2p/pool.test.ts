// forEachInPool (p2p/core/pool.ts): bounded concurrency, and a failure that
// stops new work and waits for the work under way before it is reported.
import { describe, expect, it } from "vitest";
import { forEachInPool } from "../../p2p/core/pool.ts";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("forEachInPool", () => {
  it("runs every item, never more than `size` at once", async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachInPool([...Array(20).keys()], 4, async (item) => {
      running += 1;
      most = Math.max(most, running);
      await tick(item % 3);
      seen.push(item);
      running -= 1;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(most).toBe(4);
  });

  it("after a failure starts nothing new, aborts the signal, and rejects only once the items under way have settled", async () => {
    const events: string[] = [];
    const outcome = forEachInPool([0, 1, 2, 3, 4, 5, 6, 7], 3, async (item, signal) => {
      events.push(`start ${item}`);
      if (item === 1) {
        await tick(5);
        throw new Error("chunk 1 failed");
      }
      if (item === 2) {
        // A slow one that ends as soon as the pool has failed.
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
        events.push("2 saw the abort");
        return;
      }
      await tick(30);
      events.push(`end ${item}`);
    });
    await expect(outcome).rejects.toThrow("chunk 1 failed");
    events.push("rejected");
    // 0, 1, 2 start at once; 1 fails at ~5 ms, before 0 ends: 3 and later never start.
    expect(events).toEqual(["start 0", "start 1", "start 2", "2 saw the abort", "end 0", "rejected"]);
  });
});
