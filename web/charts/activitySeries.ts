// Hourly buckets as uPlot's aligned columns: x in unix seconds, then one column per series. Pure.
import type { ActivityBucket } from "../../protocol/network.ts";

export const activitySeries = [
  { key: "queued", label: "Queued", color: "#6b7280" },
  { key: "started", label: "Started", color: "#2563eb" },
  { key: "finished", label: "Finished", color: "#059669" },
] as const;

export function activityColumns(buckets: readonly ActivityBucket[]): [number[], ...number[][]] {
  return [buckets.map((bucket) => Date.parse(bucket.hour) / 1_000), ...activitySeries.map((series) => buckets.map((bucket) => bucket[series.key]))];
}
