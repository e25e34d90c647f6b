// Jobs queued, started and finished per hour as grouped bars, drawn by uPlot
// (canvas): made once, fed new columns on every refresh, resized with its container.
import uPlot from "uplot";
import type { ActivityBucket } from "../../protocol/network.ts";
import { activityColumns, activitySeries } from "./activitySeries.ts";
import { useUplot } from "./useUplot.ts";

const HEIGHT = 240;
const HOUR_S = 3_600;
/** Each hour's three bars side by side in a quarter of the hour each, a sliver apart. */
const SLOT_S = HOUR_S / 4;
const BAR_S = SLOT_S * 0.85;

/** Bars for one series, shifted so the hour's three stand side by side (uPlot's own bar paths, placed by `disp`). */
function groupedBars(position: number): uPlot.Series.PathBuilder {
  const offset = (position - activitySeries.length / 2) * SLOT_S;
  return uPlot.paths.bars!({
    disp: {
      x0: { unit: 1, values: (u) => (u.data[0] as number[]).map((x) => x + offset) },
      size: { unit: 1, values: () => [BAR_S] },
    },
  });
}

function options(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: {
      // Half an hour of room at each end, so the first and last hours' bars are not cut.
      x: { time: true, range: (_u, min, max) => [min - HOUR_S / 2, max + HOUR_S / 2] },
      y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] },
    },
    axes: [{ stroke: "#6b7280", grid: { stroke: "#eef0f3" } }, { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, label: "jobs per hour" }],
    series: [
      { label: "Hour" },
      ...activitySeries.map((series, position) => ({
        label: series.label,
        stroke: series.color,
        fill: series.color,
        width: 0,
        paths: groupedBars(position),
        points: { show: false },
      })),
    ],
  };
}

export function ActivityChart(props: { buckets: readonly ActivityBucket[] }) {
  const host = useUplot(options, () => activityColumns(props.buckets), props.buckets, 600);

  const last = props.buckets.at(-1);
  return (
    <figure class="chart">
      <div ref={host} data-testid="activity-chart" />
      {last ? (
        <figcaption class="muted" data-testid="activity-caption">
          This hour so far: {last.queued} queued, {last.started} started, {last.finished} finished.
        </figcaption>
      ) : null}
    </figure>
  );
}
