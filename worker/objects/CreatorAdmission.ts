// One per creator: admits their paid jobs one create at a time (chain/admission.ts),
// so concurrent creates cannot each see the same free escrow. A Durable Object
// lets other requests in while it awaits D1, so the turns are chained here.
import { DurableObject } from "cloudflare:workers";
import { indexerOf } from "../bindings/objects.ts";
import { admitPaidJobs, type Admission, type PaidJob } from "../chain/admission.ts";
import { jobContextFor } from "../wiring/jobContext.ts";

export class CreatorAdmission extends DurableObject<Env> {
  /** The turn now running; the next one starts when it settles, however it ends. */
  private lastTurn: Promise<unknown> = Promise.resolve();

  /** Admits `jobs` (one create's: a job, or a batch) all together or none of them. */
  async admit(jobs: PaidJob[], baseUrl: string): Promise<Admission> {
    const ctx = jobContextFor(this.env, { baseUrl, defer: (work) => this.ctx.waitUntil(work) });
    const turn = this.lastTurn.then(() => admitPaidJobs(ctx, jobs, () => indexerOf(this.env).sync()));
    this.lastTurn = turn.catch(() => undefined);
    return turn;
  }
}
