// The fleet's curve as a picture (an SVG, drawn by Vega-Lite): per fleet size, jobs
// finished per second against the rate offered, beside the line where every
// offered job finishes; and create → result p99 against the same rates. Where the
// throughput leaves that line and the p99 climbs is where the control plane bends.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { StepResult } from "./loadStep.ts";

interface Point {
  providers: string;
  offered: number;
  succeeded: number;
  p99s: number;
}

const WIDTH = 300;
const HEIGHT = 220;

/** The SVG of the curve of one run's steps (chain off). */
export async function fleetCurveSvg(steps: readonly StepResult[], title: string): Promise<string> {
  const points: Point[] = steps.map((step) => ({
    providers: `${step.providers.toLocaleString("en-US")} providers`,
    offered: step.offeredRate,
    succeeded: step.sustained,
    p99s: step.createToResult.p99 / 1000,
  }));
  const rates = [...new Set(points.map((point) => point.offered))].sort((a, b) => a - b);
  const x = { field: "offered", type: "quantitative" as const, title: "jobs/s offered", scale: { domain: [0, rates.at(-1) ?? 1] } };
  const color = { field: "providers", type: "nominal" as const, title: null, sort: null };
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: title, anchor: "start", fontSize: 13 },
    data: { values: points },
    config: { font: "sans-serif", legend: { orient: "bottom" } },
    hconcat: [
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            // Every offered job finished while offered: the line a control plane that keeps up stays on.
            data: { values: rates.map((rate) => ({ offered: rate, succeeded: rate })) },
            mark: { type: "line", strokeDash: [4, 4], color: "#999" },
            encoding: { x, y: { field: "succeeded", type: "quantitative" } },
          },
          {
            mark: { type: "line", point: true },
            encoding: { x, y: { field: "succeeded", type: "quantitative", title: "jobs/s succeeded while offered" }, color },
          },
        ],
      },
      {
        width: WIDTH,
        height: HEIGHT,
        mark: { type: "line", point: true },
        encoding: { x, y: { field: "p99s", type: "quantitative", title: "create → result p99 (s)", scale: { type: "log" } }, color },
      },
    ],
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
