// Marks the moment a page first shows its content (not just its frame), for the
// Performance API: the browser tests print it beside first-contentful-paint.
let marked = false;

export function markContentRendered(): void {
  if (marked) return;
  marked = true;
  // After the browser has laid the new content out.
  requestAnimationFrame(() => performance.mark("pond:content"));
}
