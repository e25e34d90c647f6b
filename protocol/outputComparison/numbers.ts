// Numbers within a tolerance, and the tally a structured file's comparison
// keeps of them: how many, how far apart at most, and the worst place.

export interface Tolerance {
  rtol: number;
  atol: number;
}

/**
 * Python's math.isclose: |a − b| ≤ max(rtol·max(|a|, |b|), atol). Symmetric, so
 * which run is "a" never matters. NaN agrees only with NaN, and ±Infinity only
 * with itself (|∞ − ∞| is NaN, which no bound admits, so they are checked first).
 */
export function numbersAgree(a: number, b: number, tolerance: Tolerance): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= allowance(a, b, tolerance);
}

function allowance(a: number, b: number, { rtol, atol }: Tolerance): number {
  return Math.max(rtol * Math.max(Math.abs(a), Math.abs(b)), atol);
}

/** Both values where two files differ, as text a person can read (long values cut short). */
export interface Place {
  /** A JSON pointer (`/loss/3`, "" for the whole document), `row 5, column "acc"`, or `line 7`. */
  at: string;
  a: string;
  b: string;
}

/** Where two structured files stop being comparable: a missing key, a row of other length, unequal text. */
export interface Mismatch extends Place {
  why: string;
}

/** The longest value a report quotes: a hostile file's 60 MB string must not end up in a log. */
const SHOWN_CHARS = 80;

export function shown(text: string): string {
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}…`;
}

/**
 * Every pair of numbers one comparison meets. `worst` is the pair furthest
 * from its allowance (|a − b| divided by max(rtol·max(|a|, |b|), atol)), the
 * first such in the walk on a tie: beyond tolerance when over 1. Differences
 * are summed up over finite pairs only; a non-finite pair that disagrees
 * (NaN and 1, ∞ and −∞) counts as infinitely far.
 */
export class NumberTally {
  compared = 0;
  beyondTolerance = 0;
  maxAbsDiff = 0;
  maxRelDiff = 0;
  private worstRatio = 0;

  constructor(readonly tolerance: Tolerance) {}

  /** Counts one pair; true when it is the new worst, so the caller records where it is (only then: building a place costs). */
  record(a: number, b: number): boolean {
    this.compared++;
    const agree = numbersAgree(a, b, this.tolerance);
    if (!agree) this.beyondTolerance++;
    let ratio: number;
    if (Number.isFinite(a) && Number.isFinite(b)) {
      const diff = Math.abs(a - b);
      const scale = Math.max(Math.abs(a), Math.abs(b));
      this.maxAbsDiff = Math.max(this.maxAbsDiff, diff);
      this.maxRelDiff = Math.max(this.maxRelDiff, scale === 0 ? 0 : diff / scale);
      const allowed = allowance(a, b, this.tolerance);
      ratio = diff === 0 ? 0 : allowed === 0 ? Infinity : diff / allowed;
    } else {
      ratio = agree ? 0 : Infinity;
    }
    if (ratio <= this.worstRatio) return false;
    this.worstRatio = ratio;
    return true;
  }
}

/** How two JSON documents or two CSV tables compared. */
export interface NumbersComparison {
  /** Pairs of numbers compared with the tolerance. */
  numbers: number;
  /** Of those, how many disagree. */
  beyond_tolerance: number;
  /** Over the finite pairs: the largest |a − b|, and the largest |a − b| / max(|a|, |b|). */
  max_abs_diff: number;
  max_rel_diff: number;
  /** The pair furthest from its allowance; null when every pair is equal. */
  worst: Place | null;
  /** Where the files stop being comparable (the walk stops there); null when they never do. */
  mismatch: Mismatch | null;
}

export function numbersComparisonOf(tally: NumberTally, worst: Place | null, mismatch: Mismatch | null): NumbersComparison {
  return {
    numbers: tally.compared,
    beyond_tolerance: tally.beyondTolerance,
    max_abs_diff: tally.maxAbsDiff,
    max_rel_diff: tally.maxRelDiff,
    worst,
    mismatch,
  };
}

/** Two files in a structured format where one or both do not parse: equal text agrees, anything else cannot. */
export function unparsedComparison(format: string, a: string, b: string, errorA: string | undefined, errorB: string | undefined, tolerance: Tolerance): NumbersComparison {
  const tally = new NumberTally(tolerance);
  if (errorA !== undefined && errorB !== undefined && a === b) return numbersComparisonOf(tally, null, null);
  const why =
    errorA !== undefined && errorB !== undefined
      ? `neither is valid ${format}, and they are not identical`
      : errorA !== undefined
        ? `a is not valid ${format}; b is`
        : `b is not valid ${format}; a is`;
  return numbersComparisonOf(tally, null, { at: "", a: errorA === undefined ? `valid ${format}` : shown(errorA), b: errorB === undefined ? `valid ${format}` : shown(errorB), why });
}
