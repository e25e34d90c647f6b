// What the daemon tells a container's watchdog, as its one argument (JSON).
import { z } from "zod";

export const WatchdogArgs = z.object({
  container: z.string().min(1),
  heartbeat_file: z.string().min(1),
  pid_file: z.string().min(1),
  grace_ms: z.int().positive(),
  timeout_s: z.int().positive(),
  backstop_ms: z.int().min(0),
});
export type WatchdogArgs = z.infer<typeof WatchdogArgs>;

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
