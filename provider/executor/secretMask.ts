// Masks the values of a job's secrets in the log it forwards, as CI services do:
// a guard against a library that prints its configuration, not against a job that
// means to leak them (it can encode them first, and its provider sees them anyway).
export const SECRET_MASK = "***";

/** A masker for these values; the identity when there are none. Longer values first, so one inside another is masked whole. */
export function secretMask(values: readonly string[]): (text: string) => string {
  const masked = [...new Set(values.filter((value) => value.length > 0))].sort((a, b) => b.length - a.length);
  if (masked.length === 0) return (text) => text;
  return (text) => masked.reduce((out, value) => out.replaceAll(value, SECRET_MASK), text);
}
