// A daemon that ignores its log budget: what waits in a hub for one job stays
// bounded, the rest is dropped and said so in the log (LogIntake), and through the
// real hub and room, the job's log and status still get through after a flood.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HUB_PROTOCOL_VERSION } from "../../../protocol/hubMessages.ts";
import { logLimits } from "../../../protocol/limits.ts";
import { jobRoomOf } from "../../../worker/bindings/objects.ts";
import { LogIntake, MAX_PENDING_LOG_CHARS } from "../../../worker/hub/logIntake.ts";
import { eventually } from "../../helpers/eventually.ts";
import { assignedJob } from "../assignedJob.ts";
import { call } from "../client.ts";

describe("LogIntake", () => {
  it("lets a job's log wait up to its bound, drops past it, and notes the drop on the next piece through", () => {
    const intake = new LogIntake();
    const piece = logLimits.messageChars;
    let admitted = 0;
    while (intake.admit("job_a", piece)) admitted += piece;
    expect(admitted).toBeGreaterThan(0);
    expect(admitted).toBeLessThanOrEqual(MAX_PENDING_LOG_CHARS);
    // Another job's log is not held back by this one's.
    expect(intake.admit("job_b", piece)).toBe(true);
    intake.done("job_a", admitted);
    expect(intake.admit("job_a", 10)).toBe(true);
    expect(intake.withDropNote("job_a", "next\n")).toBe(`\n[pond: the hub dropped ${piece} characters of output: the provider sent it faster than it could be relayed]\nnext\n`);
    expect(intake.withDropNote("job_a", "after\n")).toBe("after\n");
  });
});

describe("a provider that floods its hub with one job's log", () => {
  // Whether the hub queues past its bound here depends on how fast the room takes each piece (in runs
  // here: from none to a few pieces dropped), so this checks that the hub comes out of the flood
  // relaying; the bound itself is checked above.
  it("still relays the job's log and keeps the job running after the flood", async () => {
    const { key, provider, offer } = await assignedJob();
    const room = (query: string) => runInDurableObject(jobRoomOf(env, offer.job_id), (_room, state) => state.storage.sql.exec<{ n: number | null }>(query).one().n ?? 0);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.status", job_id: offer.job_id, phase: "running" });
    // The room numbers every event it takes: what it numbers after the job is running is the flood's.
    const before = await eventually(async () => (await room("SELECT COUNT(*) AS n FROM room_events WHERE data LIKE '%processing%'")) > 0 && room("SELECT MAX(seq) AS n FROM room_events"), { what: "the running status in the room" });
    // 16 MiB at once, without waiting for anything: 64 times what may wait.
    const piece = "y".repeat(logLimits.messageChars - 1) + "\n";
    const sent = 256;
    for (let i = 0; i < sent; i++) provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: offer.job_id, data: piece });
    // Events are numbered as the room takes them: once the number stops growing, the hub has relayed what it kept.
    let appended = -1;
    await eventually(async () => {
      const now = await room("SELECT MAX(seq) AS n FROM room_events");
      const settled = now === appended && now > 0;
      appended = now;
      return settled;
    }, { what: "the room to stop taking the flood", timeoutMs: 30_000, intervalMs: 500 });
    expect(appended - before).toBeLessThanOrEqual(sent);
    provider.send({ v: HUB_PROTOCOL_VERSION, type: "job.log", job_id: offer.job_id, data: "the last line\n" });
    await eventually(async () => (await room("SELECT COUNT(*) AS n FROM room_events WHERE data LIKE '%the last line%'")) === 1, { what: "the line sent after the flood in the room" });
    const status = ((await (await call(`/v1/jobs/${offer.job_id}`, { key })).json()) as { status: string }).status;
    expect(status).toBe("processing");
    await provider.close();
  });
});
