// What the daemon tells its watchdog: the process's one argument (JSON), and a
// guard file per container it asks to be watched (guards.ts).
import { z } from "zod";

export const WatchdogArgs = z.object({
  /** Its folder: the guard files, its pid file and its log. */
  dir: z.string().min(1),
  heartbeat_file: z.string().min(1),
  backstop_ms: z.int().min(0),
});
export type WatchdogArgs = z.infer<typeof WatchdogArgs>;

export const ContainerGuardFile = z.object({
  job_id: z.string().min(1),
  container: z.string().regex(/^[0-9a-f]{12,64}$/),
  grace_ms: z.int().positive(),
  timeout_s: z.int().positive(),
});
export type ContainerGuardFile = z.infer<typeof ContainerGuardFile>;

export function parseWatchdogArgs(raw: string | undefined): { ok: true; args: WatchdogArgs } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw ?? "");
  } catch {
    return { ok: false, error: "the argument is not JSON" };
  }
  const parsed = WatchdogArgs.safeParse(json);
  if (!parsed.success) return { ok: false, error: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ") };
  return { ok: true, args: parsed.data };
}
