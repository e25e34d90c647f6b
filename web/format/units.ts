// Durations, sizes and identifiers, shortened for tables and figures.
import { formatBytes } from "../../protocol/byteSize.ts";

/** "—" for nothing, then ms, s, min, h: two units at most. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** How long ago, from `now`: "just now", "42 s ago", "5 min ago", "3 h ago", else the date. */
export function formatAgo(iso: string, now: number): string {
  const then = Date.parse(iso);
  const seconds = Math.round((now - then) / 1_000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3_600)} h ago`;
  return new Date(then).toISOString().slice(0, 10);
}

/** Megabytes (as nvidia-smi and Docker count them, MiB) in GiB above 1024. */
export function formatMb(mb: number): string {
  return mb >= 1_024 ? `${(mb / 1_024).toFixed(mb >= 10_240 ? 0 : 1)} GiB` : `${Math.round(mb)} MiB`;
}

/** "0x7099…79c8": enough to tell addresses and hashes apart at a glance. */
export function shortHex(value: string, keep = 4): string {
  return value.length <= 2 + keep * 2 + 1 ? value : `${value.slice(0, 2 + keep)}…${value.slice(-keep)}`;
}

/** A count with its noun: "1 provider", "3 providers". */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString("en-US")} ${noun}${count === 1 ? "" : "s"}`;
}

const ROUTE_NAMES = {
  direct: "peer to peer",
  turn: "peer to peer via TURN",
  relay: "through Pond's storage",
  cache: "already on the provider (cached)",
  outputs: "from the source job's outputs",
} as const;

/** One GPU's figures as its provider sampled them: "87% busy (peak 100%) · 70 GiB peak memory". */
export function formatGpuUsage(gpu: { utilization_pct: { mean: number; max: number }; memory_used_mb: { max: number } }): string {
  return `${Math.round(gpu.utilization_pct.mean)}% busy (peak ${Math.round(gpu.utilization_pct.max)}%) · ${formatMb(gpu.memory_used_mb.max)} peak memory`;
}

/** A job's latest checkpoint: "2 files, 1.2 MiB, saved 40 s ago in attempt 1", or that none is saved yet. */
export function formatCheckpoint(checkpoint: { files: readonly unknown[]; bytes: number; saved_at: number; attempt: number } | null, now: number): string {
  if (!checkpoint) return "none saved yet";
  return `${plural(checkpoint.files.length, "file")}, ${formatBytes(checkpoint.bytes)}, saved ${formatAgo(new Date(checkpoint.saved_at).toISOString(), now)} in attempt ${checkpoint.attempt + 1}`;
}

/** How one transfer of a job's files went, e.g. "1.2 MiB peer to peer in 40 ms". */
export function formatTransfer(measure: { route: keyof typeof ROUTE_NAMES; bytes: number; ms: number } | null | undefined): string {
  if (!measure) return "—";
  return `${formatBytes(measure.bytes)} ${ROUTE_NAMES[measure.route]} in ${formatDuration(measure.ms)}`;
}
