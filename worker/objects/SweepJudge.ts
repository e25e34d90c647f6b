// One per batch created with `stop_early` (api/jobBatch.ts): it keeps the batch's
// rule and job ids, and on an alarm judges the jobs (sweeps/judge.ts) until every
// one has ended, so a detached sweep stops its losing runs with nobody waiting.
import { DurableObject } from "cloudflare:workers";
import { getConfig } from "../config/config.ts";
import { Judgement, workerJudgePorts, type SweepCase } from "../sweeps/judge.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

/** A batch whose jobs are not in D1 this long after the judge started was never written (its insert failed). */
const WRITE_GRACE_MS = 60_000;

export class SweepJudge extends DurableObject<Env> {
  private judgement: Judgement | undefined;

  /** Called before the batch is written; again (a retried request) it changes nothing. */
  async start(sweep: SweepCase): Promise<void> {
    if (await this.ctx.storage.get<SweepCase>("case")) return;
    await this.ctx.storage.put("case", sweep);
    await this.ctx.storage.setAlarm(Date.now() + this.intervalMs());
  }

  override async alarm(): Promise<void> {
    const sweep = await this.ctx.storage.get<SweepCase>("case");
    if (!sweep) return;
    this.judgement ??= new Judgement(sweep, workerJudgePorts(jobContextFor(this.env, { background: (work) => this.ctx.waitUntil(work) })));
    try {
      const outcome = await this.judgement.pass();
      const neverWritten = outcome.found === 0 && Date.now() - sweep.startedAt > WRITE_GRACE_MS;
      if (outcome.over || neverWritten) {
        this.judgement = undefined;
        return await this.ctx.storage.deleteAll();
      }
    } catch (error) {
      // A pass that failed (D1 or a room unreachable a moment) is tried again at the next one; the jobs are untouched.
      console.error(`sweep judge for ${sweep.jobIds[0]}: ${error instanceof Error ? error.message : String(error)}`);
    }
    await this.ctx.storage.setAlarm(Date.now() + this.intervalMs());
  }

  private intervalMs(): number {
    return getConfig(this.env).sweepJudgeIntervalMs;
  }
}
