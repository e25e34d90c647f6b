// D1 caps the parameters bound to one statement at 100, so a list (an IN of ids)
// longer than a statement can carry goes in pieces, a statement each.
export const LIST_PARAMETERS_PER_STATEMENT = 90;

/** `items` cut into lists a statement can bind, with room left for its other parameters. */
export function inPieces<T>(items: readonly T[], size = LIST_PARAMETERS_PER_STATEMENT): T[][] {
  const pieces: T[][] = [];
  for (let i = 0; i < items.length; i += size) pieces.push(items.slice(i, i + size));
  return pieces;
}
