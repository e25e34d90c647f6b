// A job's room keeps the tail of its log and copies it into the job row: the
// last line must land there however chunks and the copies interleave.
import { env, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { jobRoomOf } from "../../../worker/bindings/objects.ts";
import { jobs } from "../../../worker/db/schema.ts";
import type { JobRoom } from "../../../worker/objects/JobRoom.ts";
import { db, insertJob } from "../chain/jobRows.ts";

const tailInRow = async (id: string) => (await db.select({ logsTail: jobs.logsTail }).from(jobs).where(eq(jobs.id, id)))[0]!.logsTail;

describe("the log tail in the job row", () => {
  it("keeps a chunk that arrived while the tail was being copied, also when the job then ends", async () => {
    const job = await insertJob("room_race", { status: "processing" });
    await runInDurableObject(jobRoomOf(env, job.id), async (room: JobRoom) => {
      await room.appendLogs(job.id, "line 10\n");
      // The periodic copy starts and waits on D1; the last line comes in meanwhile.
      const copying = room.alarm();
      await room.appendLogs(job.id, "line 11\n");
      await copying;
      await room.statusChanged("succeeded");
    });
    expect(await tailInRow(job.id)).toBe("line 10\nline 11\n");
  });

  it("has the last line in the row before a waiter hears the job ended (it reads the row next), though a periodic copy was under way", async () => {
    const job = await insertJob("room_waiter", { status: "processing" });
    await runInDurableObject(jobRoomOf(env, job.id), async (room: JobRoom) => {
      await room.appendLogs(job.id, "line 0\n");
      // The periodic copy has read the tail and waits on D1 when the last line comes.
      const copying = room.alarm();
      await scheduler.wait(1);
      await room.appendLogs(job.id, "line 11\n");
      const waiting = room.waitForTerminal(10_000).then(async (status) => [status, await tailInRow(job.id)]);
      const ending = room.statusChanged("succeeded");
      const seen = await waiting;
      await Promise.all([ending, copying]);
      expect(seen).toEqual(["succeeded", "line 0\nline 11\n"]);
      // And a waiter that comes once the room knows the job ended is answered at once, the row already whole.
      expect(await room.waitForTerminal(10_000)).toBe("succeeded");
    });
  });

  it("copies a chunk that arrives after the job ended", async () => {
    const job = await insertJob("room_late", { status: "processing" });
    const room = jobRoomOf(env, job.id);
    await room.appendLogs(job.id, "before\n");
    await room.statusChanged("succeeded");
    await room.appendLogs(job.id, "straggler\n");
    await runInDurableObject(room, (instance: JobRoom) => instance.alarm());
    expect(await tailInRow(job.id)).toBe("before\nstraggler\n");
  });
});
