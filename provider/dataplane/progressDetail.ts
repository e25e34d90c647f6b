// A transfer's progress as a job's status detail: "receiving inputs: 41% of 1.2 GiB, direct".
import { formatBytes } from "../../protocol/byteSize.ts";

export function describeProgress(label: string, done: number, total: number, route: string): string {
  const percent = total > 0 ? Math.floor((100 * Math.min(done, total)) / total) : 100;
  return `${label}: ${percent}% of ${formatBytes(total)}, ${route}`;
}

/**
 * Passes a detail on when it says something new, percentages at most every
 * `everyMs` (a transfer reports every chunk); the last one held back goes out
 * when the interval ends, so a transfer that stalls shows where it stopped.
 */
export function throttledDetail(send: (detail: string) => void, everyMs = 500): (detail: string) => void {
  let last = "";
  let lastAt = 0;
  let held: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const emit = (detail: string) => {
    clearTimeout(timer);
    timer = undefined;
    held = undefined;
    last = detail;
    lastAt = Date.now();
    send(detail);
  };
  return (detail) => {
    if (detail === last) return;
    // Percentages are thinned out; any other news (a wait, a route) and the end go at once.
    if (!/\d%/.test(detail) || /: 100%/.test(detail) || Date.now() - lastAt >= everyMs) return emit(detail);
    held = detail;
    timer ??= setTimeout(() => held !== undefined && emit(held), lastAt + everyMs - Date.now());
    timer.unref?.();
  };
}
