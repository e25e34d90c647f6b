// Reservation lag with the chain on: how long a paid job stays `reserving` (its
// escrow reservation not yet on chain; it is not offered meanwhile). The API
// keeps no timestamp for the reservation landing, so each creator's newest jobs
// are read every `intervalMs` and a job's lag is the first read that shows it
// past `reserving`, or its assignment if that came first (a job is offered only
// once reserved), minus its created_at: an upper bound.
import type { PondClient } from "../../sdk/index.ts";
import { summarize } from "../lib/report.ts";

export interface ReservationWatch {
  stop(): Promise<{ lagMs: ReturnType<typeof summarize>; stillReserving: number; unfunded: number; reads: number }>;
}

export function watchReservations(creators: PondClient[], intervalMs: number): ReservationWatch {
  const jobs = new Map<string, { createdAt: number; leftAt?: number; settlement: string }>();
  let stopped = false;
  let reads = 0;
  const loop = (async () => {
    while (!stopped) {
      const pages = await Promise.all(creators.map((client) => client.listJobs({ limit: 100 }).catch(() => undefined)));
      const now = Date.now();
      reads += 1;
      for (const job of pages.flatMap((page) => page?.results ?? [])) {
        const seen = jobs.get(job.id) ?? { createdAt: Date.parse(job.created_at), settlement: job.settlement };
        seen.settlement = job.settlement;
        if (job.settlement !== "reserving" && seen.leftAt === undefined) {
          const assignedAt = job.metrics.queue_ms === null ? now : seen.createdAt + job.metrics.queue_ms;
          seen.leftAt = Math.min(now, assignedAt);
        }
        jobs.set(job.id, seen);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const all = [...jobs.values()];
      return {
        lagMs: summarize(all.filter((job) => job.leftAt !== undefined && job.settlement !== "unfunded").map((job) => job.leftAt! - job.createdAt)),
        stillReserving: all.filter((job) => job.leftAt === undefined).length,
        unfunded: all.filter((job) => job.settlement === "unfunded").length,
        reads,
      };
    },
  };
}
