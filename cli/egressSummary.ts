// A job's network egress as the CLI prints it: the hosts it may reach, then what it moved to each
// and what was refused (as its provider reported them: terminalText.ts).
import type { Job } from "../protocol/job.ts";
import { formatBytes } from "../protocol/byteSize.ts";
import { terminalText } from "./terminalText.ts";

export function describeEgress(job: Pick<Job, "spec" | "metrics">): string[] {
  if (!job.spec.network) return [];
  const lines = [`  network: may reach ${job.spec.network.allow.join(", ")}`];
  const usage = job.metrics.egress;
  for (const host of usage?.hosts ?? []) {
    lines.push(`  egress ${terminalText(host.host)}:${host.port}: ${host.connections} connection${host.connections === 1 ? "" : "s"}, ${formatBytes(host.bytes_out)} out, ${formatBytes(host.bytes_in)} in`);
  }
  if (usage?.refused) lines.push(`  egress refused ${usage.refused} connection${usage.refused === 1 ? "" : "s"} (hosts not allowed, or not public)`);
  for (const refusal of usage?.refusals ?? []) {
    lines.push(`    ${refusal.status} ×${refusal.count}: ${terminalText(refusal.reason)}`);
  }
  return lines;
}
