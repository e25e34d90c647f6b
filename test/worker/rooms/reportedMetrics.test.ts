// A job's reported metrics in its room: read from output cut anywhere, bounded
// however much a job prints, a resumed run's steps replacing the old ones, kept
// across the room's restarts, and served to the job's owner only.
import { env, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { reportedMetricLimits } from "../../../protocol/limits.ts";
import { ReportedMetrics } from "../../../protocol/reportedMetrics.ts";
import { jobRoomOf } from "../../../worker/bindings/objects.ts";
import { jobs } from "../../../worker/db/schema.ts";
import type { JobRoom } from "../../../worker/objects/JobRoom.ts";
import { ReportedMetricsStore, type Transaction } from "../../../worker/rooms/reportedMetrics.ts";
import { db, insertJob } from "../chain/jobRows.ts";
import { call, signIn } from "../client.ts";

const TABLES = ["reported_points", "reported_names", "reported_state"];

/** Runs `use` with stores on a fresh room's SQLite; `fresh()` drops what the last store kept and makes a new one. */
async function withStores<T>(
  use: (fresh: (maxPoints?: number) => ReportedMetricsStore, reopen: () => ReportedMetricsStore, failNext: () => void) => T | Promise<T>,
): Promise<T> {
  const room = env.JOB_ROOM.get(env.JOB_ROOM.newUniqueId());
  return runInDurableObject(room, (_instance, state) => {
    const sql = state.storage.sql;
    let maxPoints: number | undefined;
    let failing = false;
    // The room's own transactions; one may be made to fail at its end, its writes undone.
    const transaction: Transaction = (body) =>
      state.storage.transactionSync(() => {
        const result = body();
        if (failing) {
          failing = false;
          throw new Error("the disk is full");
        }
        return result;
      });
    const fresh = (max?: number) => {
      for (const table of TABLES) sql.exec(`DROP TABLE IF EXISTS ${table}`);
      maxPoints = max;
      return new ReportedMetricsStore(sql, transaction, max);
    };
    return use(fresh, () => new ReportedMetricsStore(sql, transaction, maxPoints), () => (failing = true));
  });
}

const OUTPUT = [
  "epoch 1 starting\n",
  'POND_METRICS {"step": 1, "loss": 2.5, "accuracy": 0.1}\n',
  "a line that mentions POND_METRICS in passing\n",
  'POND_METRICS {"step": 2, "loss": 1.25}\r\n',
  "POND_METRICS not json\n",
  'POND_METRICS {"loss": 0.5, "accuracy": 0.75}\n',
  "done\n",
].join("");

const valuesOf = (store: ReportedMetricsStore) =>
  Object.fromEntries(Object.entries(store.series().series).map(([name, series]) => [name, series.points.map((point) => [point.step, point.value])]));

describe("a room's reported metrics", () => {
  it("reads the same points wherever the output is cut, into two pieces or three", async () => {
    await withStores((fresh) => {
      const whole = fresh();
      whole.ingest(OUTPUT, 1);
      const expected = { accuracy: [[1, 0.1], [2, 0.75]], loss: [[1, 2.5], [2, 1.25], [3, 0.5]] };
      expect(valuesOf(whole)).toEqual(expected);
      expect(whole.series().ignored).toEqual({ lines: 1, last_reason: "what follows POND_METRICS is not JSON" });
      expect(whole.latest()).toEqual({ loss: { step: 3, value: 0.5 }, accuracy: { step: 2, value: 0.75 } });
      for (let cut = 1; cut < OUTPUT.length; cut++) {
        const store = fresh();
        store.ingest(OUTPUT.slice(0, cut), 1);
        store.ingest(OUTPUT.slice(cut), 2);
        expect(valuesOf(store), `cut at ${cut}`).toEqual(expected);
        expect(store.series().ignored.lines, `cut at ${cut}`).toBe(1);
      }
      for (let first = 1; first < OUTPUT.length; first += 7) {
        for (let second = first + 1; second < OUTPUT.length; second += 5) {
          const store = fresh();
          for (const piece of [OUTPUT.slice(0, first), OUTPUT.slice(first, second), OUTPUT.slice(second)]) store.ingest(piece, 1);
          expect(valuesOf(store), `cut at ${first} and ${second}`).toEqual(expected);
        }
      }
    });
  });

  it("carries a line cut between pieces across a restart of the room", async () => {
    await withStores((fresh, reopen) => {
      fresh().ingest('noise\nPOND_METRICS {"step": 4, "lo', 1);
      reopen().ingest('ss": 0.25}\nPOND_MET', 2);
      const store = reopen();
      store.ingest('RICS {"step": 5, "loss": 0.125}\n', 3);
      expect(valuesOf(store)).toEqual({ loss: [[4, 0.25], [5, 0.125]] });
      expect(store.series().series.loss!.points.map((point) => point.time)).toEqual([new Date(2).toISOString(), new Date(3).toISOString()]);
    });
  });

  it("counts steps on its own where the job gives none, and a step reported again replaces it and every later one", async () => {
    await withStores((fresh) => {
      const store = fresh();
      store.ingest(["loss", "loss", "loss", "loss"].map((name, i) => `POND_METRICS {"${name}": ${i}}\n`).join(""), 1);
      expect(valuesOf(store)).toEqual({ loss: [[0, 0], [1, 1], [2, 2], [3, 3]] });
      // Resumed from a checkpoint taken after step 1.
      store.ingest('POND_METRICS {"step": 2, "loss": 20}\nPOND_METRICS {"loss": 30}\n', 2);
      expect(valuesOf(store)).toEqual({ loss: [[0, 0], [1, 1], [2, 20], [3, 30]] });
      expect(store.series().series.loss!.reported).toBe(6);
      expect(store.latest()).toEqual({ loss: { step: 3, value: 30 } });
    });
  });

  it("keeps a long run's whole curve within the bound: one point of every `every`, evenly, and always the newest", async () => {
    await withStores((fresh, reopen) => {
      const max = 100;
      const store = fresh(max);
      for (let step = 1; step <= 1000; step++) store.ingest(`POND_METRICS {"step": ${step}, "loss": ${1 / step}}\n`, step);
      let series = store.series().series.loss!;
      expect(series.reported).toBe(1000);
      expect(series.every).toBe(16);
      expect(series.points.length).toBeLessThanOrEqual(max);
      const steps = series.points.map((point) => point.step);
      expect(steps.at(-1)).toBe(1000);
      expect(steps.slice(0, -1)).toEqual(Array.from({ length: steps.length - 1 }, (_, i) => 16 * (i + 1)));
      // The newest off the stride goes when a newer one comes; the stride's own points stay.
      const again = reopen();
      for (let step = 1001; step <= 1017; step++) again.ingest(`POND_METRICS {"step": ${step}, "loss": 0}\n`, step);
      series = again.series().series.loss!;
      expect(series.points.map((point) => point.step).slice(-3)).toEqual([992, 1008, 1017]);
    });
  });

  it("bounds the names a job may report, and a flood of one endless line, without losing the lines around them", async () => {
    await withStores((fresh) => {
      const store = fresh();
      const many = Object.fromEntries(Array.from({ length: reportedMetricLimits.maxNames }, (_, i) => [`m${i}`, i]));
      store.ingest(`POND_METRICS ${JSON.stringify(many)}\nPOND_METRICS {"one_more": 1, "m0": 5}\n`, 1);
      expect(Object.keys(store.series().series)).toHaveLength(reportedMetricLimits.maxNames);
      expect(store.series().ignored.last_reason).toBe(`a job reports at most ${reportedMetricLimits.maxNames} metric names; this line would make ${reportedMetricLimits.maxNames + 1}`);
      expect(store.latest()!.m0).toEqual({ step: 0, value: 0 });

      // One metric line without end, 16 KiB at a time: it is dropped once past the bound, not held.
      store.ingest('POND_METRICS {"m1": 1, "pad": "', 2);
      for (let i = 0; i < 64; i++) store.ingest("x".repeat(16 * 1024), 2);
      store.ingest('"}\nPOND_METRICS {"step": 1, "m1": 2}\n', 3);
      expect(store.series().ignored).toEqual({ lines: 2, last_reason: `a metrics line is at most ${reportedMetricLimits.maxLineChars} characters` });
      expect(store.latest()!.m1).toEqual({ step: 1, value: 2 });
    });
  });
});

describe("a room's reported metrics, at their edges", () => {
  it("keeps steps within the bound, automatic ones too, and never takes __proto__ as a name", async () => {
    await withStores((fresh) => {
      const store = fresh();
      store.ingest(`POND_METRICS {"step": ${reportedMetricLimits.maxStep}, "tokens": 1}\nPOND_METRICS {"tokens": 2}\n`, 1);
      expect(valuesOf(store)).toEqual({ tokens: [[reportedMetricLimits.maxStep, 1]] });
      expect(store.series().ignored.last_reason).toBe(`steps go up to ${reportedMetricLimits.maxStep}`);
      store.ingest(`POND_METRICS {"step": ${reportedMetricLimits.maxStep + 1}, "tokens": 3}\nPOND_METRICS {"__proto__": 1}\n`, 2);
      expect(store.series().ignored.lines).toBe(3);
      expect(store.series().ignored.last_reason).toContain('"__proto__" is not a metric name');
      expect(Object.keys(store.series().series)).toEqual(["tokens"]);
    });
  });

  it("keeps all of a piece or none of it when its reading fails, and reads the next as if it never came", async () => {
    await withStores((fresh, reopen, failNext) => {
      const store = fresh();
      store.ingest('POND_METRICS {"step": 1, "loss": 1}\nPOND_METRICS {"step": 2, "lo', 1);
      failNext();
      expect(() => store.ingest('ss": 2}\nPOND_METRICS {"step": 3, "loss": 3, "acc": 0.5}\nPOND_METRICS {"st', 2)).toThrow("the disk is full");
      // As before the piece: one point, and the same half line waiting.
      expect(valuesOf(store)).toEqual({ loss: [[1, 1]] });
      expect(valuesOf(reopen())).toEqual({ loss: [[1, 1]] });
      store.ingest('ss": 2}\n', 3);
      expect(valuesOf(store)).toEqual({ loss: [[1, 1], [2, 2]] });
      expect(store.latest()).toEqual({ loss: { step: 2, value: 2 } });
    });
  });

  it("starts a new attempt's output on a line of its own", async () => {
    await withStores((fresh, reopen) => {
      const store = fresh();
      store.ingest('POND_METRICS {"step": 7, "loss": 0.', 1);
      store.lineBreak();
      reopen().ingest('POND_METRICS {"step": 1, "loss": 2}\n', 2);
      const again = reopen();
      expect(valuesOf(again)).toEqual({ loss: [[1, 2]] });
      expect(again.series().ignored.lines).toBe(0);
    });
  });
});

describe("one job flooding its metrics beside an honest one", () => {
  it("leaves the honest job's points, newest and reasons as they are: each job's room is its own", async () => {
    const flooding = await insertJob("reported_flood", { status: "processing" });
    const honest = await insertJob("reported_honest", { status: "processing" });
    const flood = Array.from({ length: 2000 }, (_, i) => `POND_METRICS {"step": ${i}, "m${i % 40}": ${i}}\n`).join("");
    await Promise.all([
      jobRoomOf(env, flooding.id).appendLogs(flooding.id, flood),
      jobRoomOf(env, honest.id).appendLogs(honest.id, 'POND_METRICS {"step": 1, "loss": 0.5}\nPOND_METRICS {"step": 2, "loss": 0.25}\n'),
    ]);
    const [floodSeries, honestSeries] = await Promise.all([jobRoomOf(env, flooding.id).reportedSeries(), jobRoomOf(env, honest.id).reportedSeries()]);
    // 40 names a line in turn: the first 32 are kept, lines naming the rest refused.
    expect(Object.keys(floodSeries.series)).toHaveLength(reportedMetricLimits.maxNames);
    expect(floodSeries.ignored.lines).toBe(400);
    expect(honestSeries).toEqual({
      series: { loss: { points: [expect.objectContaining({ step: 1, value: 0.5 }), expect.objectContaining({ step: 2, value: 0.25 })], reported: 2, every: 1 } },
      ignored: { lines: 0, last_reason: null },
    });
  });
});

describe("GET /v1/jobs/{id}/reported-metrics", () => {
  it("serves the job's points to its owner, puts the newest on the job, and answers anyone else 404", async () => {
    const owner = await signIn();
    const job = await insertJob("reported_api", { account: owner.account.address.toLowerCase(), status: "processing" });
    const room = jobRoomOf(env, job.id);
    await room.appendLogs(job.id, 'epoch 1\nPOND_METRICS {"step": 1, "loss": 0.5, "accuracy": 0.8}\nPOND_METRICS {"step": 2, "loss": NaN}\n');
    await runInDurableObject(room, (instance: JobRoom) => instance.alarm());

    const response = await call(`/v1/jobs/${job.id}/reported-metrics`, { key: owner.key });
    expect(response.status).toBe(200);
    const body = ReportedMetrics.parse(await response.json());
    expect(body.job_id).toBe(job.id);
    expect(body.series.loss!.points.map((point) => [point.step, point.value])).toEqual([[1, 0.5], [2, null]]);
    expect(body.series.accuracy!.points).toHaveLength(1);

    const only = ReportedMetrics.parse(await (await call(`/v1/jobs/${job.id}/reported-metrics?names=accuracy,absent`, { key: owner.key })).json());
    expect(Object.keys(only.series)).toEqual(["accuracy"]);

    const [row] = await db.select({ reported: jobs.reportedMetrics, tail: jobs.logsTail }).from(jobs).where(eq(jobs.id, job.id));
    expect(row!.reported).toEqual({ loss: { step: 2, value: null }, accuracy: { step: 1, value: 0.8 } });
    expect(row!.tail).toContain("POND_METRICS");
    const shown = await (await call(`/v1/jobs/${job.id}`, { key: owner.key })).json();
    expect(shown).toMatchObject({ reported_metrics: { loss: { step: 2, value: null } }, urls: { reported_metrics: expect.stringContaining(`/v1/jobs/${job.id}/reported-metrics`) } });

    const stranger = await signIn();
    const refused = await call(`/v1/jobs/${job.id}/reported-metrics`, { key: stranger.key });
    expect(refused.status).toBe(404);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect((await call(`/v1/jobs/${job.id}/reported-metrics`)).status).toBe(401);
  });
});
