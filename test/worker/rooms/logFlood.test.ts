// A job's room under more output than anyone reads: its buffer stays within its
// bound, the tail stored on the job stays exact, a follower that stops reading
// is cut with a clear event and resumes from Last-Event-ID, and the number of
// live followers is bounded. Through the real Worker and Durable Objects.
import { env, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { logLimits } from "../../../protocol/limits.ts";
import { jobRoomOf } from "../../../worker/bindings/objects.ts";
import { jobs } from "../../../worker/db/schema.ts";
import type { JobRoom } from "../../../worker/objects/JobRoom.ts";
import { MISSED_OUTPUT_NOTICE } from "../../../worker/rooms/logStream.ts";
import { tailOf } from "../../../worker/rooms/logTail.ts";
import { EventStreamParser, type ServerSentEvent } from "../../../protocol/eventStream.ts";
import { eventually } from "../../helpers/eventually.ts";
import { db, insertJob } from "../chain/jobRows.ts";
import { call, signIn } from "../client.ts";

/** One hub message of output: numbered lines, 16 KiB. */
const piece = (n: number) => Array.from({ length: 256 }, (_, i) => `piece ${String(n).padStart(5, "0")} line ${String(i).padStart(3, "0")} ${"x".repeat(42)}\n`).join("");

const roomOf = (jobId: string) => jobRoomOf(env, jobId);
const bufferedBytes = (jobId: string) =>
  runInDurableObject(roomOf(jobId), (_room, state) => state.storage.sql.exec<{ size: number }>("SELECT COALESCE(SUM(size), 0) AS size FROM room_events").one().size);
const liveFollowers = (jobId: string) => runInDurableObject(roomOf(jobId), (room: JobRoom) => (room as unknown as { followers: { live: number } }).followers.live);

async function runningJobOf(label: string) {
  const creator = await signIn();
  const job = await insertJob(label, { account: creator.account.address.toLowerCase(), status: "processing" });
  return { key: creator.key, jobId: job.id };
}

async function readAll(body: ReadableStream<Uint8Array>): Promise<ServerSentEvent[]> {
  const parser = new EventStreamParser();
  const decoder = new TextDecoder();
  const events: ServerSentEvent[] = [];
  const reader = body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    events.push(...parser.feed(decoder.decode(value, { stream: true })));
  }
}

describe("a job's room under a log flood", () => {
  it("keeps at most its buffer's bound, and the job's stored tail exactly as the output ended", async () => {
    const { jobId } = await runningJobOf("flood_bound");
    expect(piece(0).length).toBe(logLimits.forwardChunkBytes);
    // 8 MiB: thirty-two times the room's bound.
    let all = "";
    for (let n = 0; n < 512; n++) {
      await roomOf(jobId).appendLogs(jobId, piece(n));
      if (n >= 500) all += piece(n);
      if (n % 64 === 0) expect(await bufferedBytes(jobId)).toBeLessThanOrEqual(logLimits.roomBufferBytes);
    }
    expect(await bufferedBytes(jobId)).toBeLessThanOrEqual(logLimits.roomBufferBytes);
    await runInDurableObject(roomOf(jobId), (room: JobRoom) => room.alarm());
    const [row] = await db.select({ logsTail: jobs.logsTail }).from(jobs).where(eq(jobs.id, jobId));
    expect(row!.logsTail).toBe(tailOf(all));
    expect(row!.logsTail.endsWith(`piece 00511 line 255 ${"x".repeat(42)}\n`)).toBe(true);
  });

  it("cuts a follower that stops reading with a `cut` event, and it resumes from its Last-Event-ID", async () => {
    const { key, jobId } = await runningJobOf("flood_cut");
    const response = await call(`/v1/jobs/${jobId}/logs`, { key });
    expect(response.status).toBe(200);
    await roomOf(jobId).appendLogs(jobId, piece(0));
    // Not read: output piles up for this follower, until it is cut. Twice the lag bound and more.
    const pieces = (2 * logLimits.followerLagBytes) / logLimits.forwardChunkBytes + 8;
    for (let n = 1; n <= pieces; n++) await roomOf(jobId).appendLogs(jobId, piece(n));

    const events = await readAll(response.body!);
    expect(await liveFollowers(jobId)).toBe(0);
    const cut = events.at(-1)!;
    expect(cut.event).toBe("cut");
    expect(JSON.parse(cut.data)).toEqual({ reason: "lagging", detail: expect.stringMatching(/behind the job's output .*reconnect with Last-Event-ID \d+/) });
    const logs = events.filter((e) => e.event === "log");
    // Everything before the cut arrived in order, each with its id; the cut carries the last one.
    expect(logs.map((e) => JSON.parse(e.data).data as string).join("")).toBe(Array.from({ length: logs.length }, (_, n) => piece(n)).join(""));
    expect(logs.length).toBeLessThan(pieces);
    expect(cut.id).toBe(logs.at(-1)!.id);

    // Back with the id: what the room no longer keeps is said to be missing, then the rest, in order.
    const resumed = await call(`/v1/jobs/${jobId}/logs`, { key, headers: { "last-event-id": cut.id! } });
    expect(resumed.status).toBe(200);
    await roomOf(jobId).appendLogs(jobId, "the end\n");
    await roomOf(jobId).statusChanged("succeeded");
    const after = await readAll(resumed.body!);
    const output = after.filter((e) => e.event === "log").map((e) => JSON.parse(e.data).data as string);
    expect(output[0]).toBe(MISSED_OUTPUT_NOTICE);
    expect(output.at(-1)).toBe("the end\n");
    expect(output.slice(1, -1).join("")).toBe(Array.from({ length: output.length - 2 }, (_, i) => piece(pieces - (output.length - 3) + i)).join(""));
    expect(after.at(-1)!.event).toBe("done");
  });

  it("refuses more live followers than its bound with a 429 that says why", async () => {
    const { key, jobId } = await runningJobOf("flood_many");
    const open = await Promise.all(Array.from({ length: logLimits.roomFollowers }, () => call(`/v1/jobs/${jobId}/logs`, { key })));
    expect(open.map((r) => r.status)).toEqual(open.map(() => 200));
    const refused = await call(`/v1/jobs/${jobId}/logs`, { key });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/already has 16 live readers/);
    // Readers that leave free their places.
    await Promise.all(open.map((r) => r.body!.cancel()));
    await eventually(async () => {
      await roomOf(jobId).appendLogs(jobId, "anyone?\n");
      return (await liveFollowers(jobId)) === 0;
    }, { what: "the room to let go of readers that left" });
    const again = await call(`/v1/jobs/${jobId}/logs`, { key });
    expect(again.status).toBe(200);
    await again.body!.cancel();
  });
});
