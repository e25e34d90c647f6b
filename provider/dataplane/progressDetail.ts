// A transfer's progress as a job's status detail: "receiving inputs: 41% of 1.2 GiB, direct".
export function describeProgress(label: string, done: number, total: number, route: string): string {
  const percent = total > 0 ? Math.floor((100 * Math.min(done, total)) / total) : 100;
  return `${label}: ${percent}% of ${formatBytes(total)}, ${route}`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Passes a detail on when it says something new, at most every `everyMs` (a transfer reports every chunk). */
export function throttledDetail(send: (detail: string) => void, everyMs = 500): (detail: string) => void {
  let last = "";
  let lastAt = 0;
  return (detail) => {
    const now = Date.now();
    if (detail === last) return;
    // Percentages are thinned out; any other news (a wait, a route) goes at once.
    if (/\d%/.test(detail) && now - lastAt < everyMs && !/: 100%/.test(detail)) return;
    last = detail;
    lastAt = now;
    send(detail);
  };
}
