// One per batch created with `stop_early` (api/jobBatch.ts): it keeps the batch's
// rule and job ids, and on an alarm judges the jobs (sweeps/judge.ts) until every
// one has ended, so a detached sweep stops its losing runs with nobody waiting.
// While nothing moves (jobs queued, a long epoch) or passes fail, it looks less
// often; and it lets the batch go once no job of it can still be running.
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../config/config.ts";
import { Judgement, nextPauseMs, workerJudgePorts, type SweepCase } from "../sweeps/judge.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

/** A batch whose jobs are not in D1 this long after the judge started was never written. */
const WRITE_GRACE_MS = 60_000;

export class SweepJudge extends DurableObject<Env> {
  private judgement: Judgement | undefined;
  private pauseMs = 0;

  /** Called before the batch is written; again (a retried request) it changes nothing. */
  async start(sweep: SweepCase): Promise<void> {
    if (await this.ctx.storage.get<SweepCase>("case")) return;
    await this.ctx.storage.put("case", sweep);
    await this.ctx.storage.setAlarm(Date.now() + this.intervalMs());
  }

  /** The batch was refused after the judge started: nothing of it is kept. */
  async abandon(): Promise<void> {
    this.judgement = undefined;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    const sweep = await this.ctx.storage.get<SweepCase>("case");
    if (!sweep) return;
    if (Date.now() > sweep.endBy) return this.abandon();
    this.judgement ??= new Judgement(sweep, workerJudgePorts(jobContextFor(this.env, { background: (work) => this.ctx.waitUntil(work) })));
    let moved = false;
    try {
      const outcome = await this.judgement.pass();
      if (outcome.over || (outcome.found === 0 && Date.now() - sweep.startedAt > WRITE_GRACE_MS)) return await this.abandon();
      moved = outcome.moved || outcome.stopped.length > 0;
    } catch (error) {
      // A pass that failed (D1 or a room unreachable a moment) is tried again, later each time; the jobs are untouched.
      console.error(`sweep judge for ${sweep.jobIds[0]}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.pauseMs = nextPauseMs(this.pauseMs, this.intervalMs(), moved);
    await this.ctx.storage.setAlarm(Date.now() + this.pauseMs);
  }

  private intervalMs(): number {
    return getConfig(this.env).sweepJudgeIntervalMs;
  }
}
