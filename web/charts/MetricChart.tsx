// One reported metric's curve against the step, drawn by uPlot (canvas): made once,
// fed its points again on every refresh, resized with its container.
import uPlot from "uplot";
import type { ReportedSeries } from "../../protocol/reportedMetrics.ts";
import type { z } from "zod";
import { metricCaption, metricColumns } from "./metricSeries.ts";
import { useUplot } from "./useUplot.ts";

const HEIGHT = 180;

function options(name: string, width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    scales: { x: { time: false } },
    axes: [{ stroke: "#6b7280", grid: { stroke: "#eef0f3" }, label: "step" }, { stroke: "#6b7280", grid: { stroke: "#eef0f3" } }],
    series: [{ label: "step" }, { label: name, stroke: "#2563eb", width: 2, spanGaps: false, points: { show: false } }],
  };
}

export function MetricChart(props: { name: string; series: z.infer<typeof ReportedSeries> }) {
  const host = useUplot((width) => options(props.name, width), () => metricColumns(props.series) as uPlot.AlignedData, props.series, 320);

  return (
    <figure class="chart" data-testid={`metric-${props.name}`}>
      <figcaption>
        <strong class="mono">{props.name}</strong> <span class="muted" data-testid="metric-caption">{metricCaption(props.series)}</span>
      </figcaption>
      <div ref={host} />
    </figure>
  );
}
