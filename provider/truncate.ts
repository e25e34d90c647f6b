// Free text bound for the wire (errors, phase details, decline reasons): the hub
// refuses a message past its schema's limits, and a refused result would wait
// in the outbox forever.
const MARK = " […]";

/** `text` cut to at most `max` characters, marked where it was cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= MARK.length) return text.slice(0, max);
  return `${text.slice(0, max - MARK.length)}${MARK}`;
}
