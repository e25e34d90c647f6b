// Open-loop load: jobs created through the public API at a fixed arrival rate,
// round-robin over several creators, each create sent when it is due whether or
// not earlier ones have been answered (a closed loop would slow down with the
// server and hide its limit). Arrivals past `maxInFlight` unanswered creates are
// counted as skipped: the generator, not the server, would be the bottleneck.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Job } from "../../protocol/job.ts";
import type { CreateJobRequest } from "../../protocol/jobSpec.ts";
import { PondClient, PondApiError } from "../../sdk/index.ts";

/** Creates one job as the creator with this index. */
export type CreateAs = (creator: number) => Promise<Job>;

/** Jobs created with the spec as it is: no authorization (the chain is off). */
export function plainCreate(creators: PondClient[], spec: CreateJobRequest): CreateAs {
  return (creator) => creators[creator]!.createJob(spec);
}

export interface CreatedJob {
  id: string;
  creator: number;
  /** The create's round trip, as the creator saw it. */
  createMs: number;
}

export interface LoadRun {
  offeredRate: number;
  durationS: number;
  created: CreatedJob[];
  /** Creates the API refused or that failed in transit, by reason. */
  refused: Record<string, number>;
  /** Arrivals not sent because too many creates were unanswered. */
  skipped: number;
  startedAt: number;
  /** When the last arrival was due (wall clock, as the API's timestamps are). */
  endedAt: number;
}

export async function signInCreators(api: string, count: number): Promise<PondClient[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new PondClient({ baseUrl: api });
      await client.signIn(privateKeyToAccount(generatePrivateKey()));
      return client;
    }),
  );
}

export async function offerLoad(creators: number, create: CreateAs, rate: number, durationS: number, maxInFlight: number): Promise<LoadRun> {
  const run: LoadRun = { offeredRate: rate, durationS, created: [], refused: {}, skipped: 0, startedAt: Date.now(), endedAt: 0 };
  const total = Math.round(rate * durationS);
  const t0 = performance.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    const dueAt = t0 + (i * 1000) / rate;
    const wait = dueAt - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (pending.size >= maxInFlight) {
      run.skipped += 1;
      continue;
    }
    const creator = i % creators;
    const sent = performance.now();
    const created = create(creator).then(
      (job) => void run.created.push({ id: job.id, creator, createMs: performance.now() - sent }),
      (error: unknown) => {
        const reason = error instanceof PondApiError ? `${error.status} ${error.problem.title}` : `transport: ${(error as Error).message}`;
        run.refused[reason] = (run.refused[reason] ?? 0) + 1;
      },
    );
    pending.add(created);
    void created.finally(() => pending.delete(created));
  }
  run.endedAt = Date.now();
  await Promise.all(pending);
  return run;
}
