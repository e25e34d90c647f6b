// One reported metric's curve against the step, drawn by uPlot (canvas): made once,
// fed its points again on every refresh, resized with its container.
import { useEffect, useRef } from "hono/jsx/dom";
import uPlot from "uplot";
import type { ReportedSeries } from "../../protocol/reportedMetrics.ts";
import type { z } from "zod";
import { metricCaption, metricColumns } from "./metricSeries.ts";

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
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const plot = new uPlot(options(props.name, element.clientWidth || 320), metricColumns(props.series) as uPlot.AlignedData, element);
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
    chart.current?.setData(metricColumns(props.series) as uPlot.AlignedData);
  }, [props.series]);

  return (
    <figure class="chart" data-testid={`metric-${props.name}`}>
      <figcaption>
        <strong class="mono">{props.name}</strong> <span class="muted" data-testid="metric-caption">{metricCaption(props.series)}</span>
      </figcaption>
      <div ref={host} />
    </figure>
  );
}
