// Jobs queued, started and finished per hour, drawn by uPlot (canvas): made
// once, fed new columns on every refresh, resized with its container.
import { useEffect, useRef } from "hono/jsx/dom";
import uPlot from "uplot";
import type { ActivityBucket } from "../../protocol/network.ts";
import { activityColumns, activitySeries } from "./activitySeries.ts";

const HEIGHT = 240;

function options(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
    axes: [{ stroke: "#6b7280", grid: { stroke: "#eef0f3" } }, { stroke: "#6b7280", grid: { stroke: "#eef0f3" }, label: "jobs per hour" }],
    series: [
      { label: "Hour" },
      ...activitySeries.map((series) => ({
        label: series.label,
        stroke: series.color,
        width: 2,
        fill: series.key === "finished" ? "rgba(5, 150, 105, 0.08)" : undefined,
        points: { size: 5 },
      })),
    ],
  };
}

export function ActivityChart(props: { buckets: readonly ActivityBucket[] }) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const plot = new uPlot(options(element.clientWidth || 600), activityColumns(props.buckets), element);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: HEIGHT }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setData(activityColumns(props.buckets));
  }, [props.buckets]);

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
