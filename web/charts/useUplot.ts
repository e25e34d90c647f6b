// A uPlot chart in an element of the page: made once the element is there, fed
// new data whenever it changes, resized with the element, destroyed with it.
import { useEffect, useRef } from "hono/jsx/dom";
import uPlot from "uplot";

/** The element to draw in; `options(width)` is read once, `data()` again whenever `source` (what it is made from) changes. */
export function useUplot(options: (width: number) => uPlot.Options, data: () => uPlot.AlignedData, source: unknown, fallbackWidth: number) {
  const host = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const plot = new uPlot(options(element.clientWidth || fallbackWidth), data(), element);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: element.clientWidth, height: plot.height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.setData(data());
  }, [source]);

  return host;
}
