// Two files of one label per line (a class per input, say): as many lines in
// both, and at least `min_agreement` of them equal. Read in step with indexOf,
// never split into millions of strings at once.
import { shown, type Place } from "./numbers.ts";

export interface LabelsComparison {
  lines_a: number;
  lines_b: number;
  /** Lines, at the same number in both, that are not equal. */
  differing: number;
  /** Equal lines over lines (over the longer file's, when they differ in length); 1 for two empty files. */
  agreement: number;
  first_difference: Place | null;
}

/** Lines end with LF, a CR before it is dropped, and a final LF adds no empty line: "a\nb\n" and "a\r\nb" are both two lines. */
class Lines {
  private pos = 0;
  count = 0;

  constructor(private readonly text: string) {}

  next(): string | null {
    if (this.pos >= this.text.length) return null;
    let end = this.text.indexOf("\n", this.pos);
    if (end < 0) end = this.text.length;
    const line = this.text.slice(this.pos, end > this.pos && end < this.text.length && this.text.charCodeAt(end - 1) === 0x0d ? end - 1 : end);
    this.pos = end + 1;
    this.count++;
    return line;
  }
}

export function compareLabelTexts(a: string, b: string): LabelsComparison {
  const [linesA, linesB] = [new Lines(a), new Lines(b)];
  let [equal, differing] = [0, 0];
  let first: Place | null = null;
  for (;;) {
    const [lineA, lineB] = [linesA.next(), linesB.next()];
    if (lineA === null || lineB === null) {
      // The longer one's remaining lines are counted, not compared.
      while (linesA.next() !== null);
      while (linesB.next() !== null);
      break;
    }
    if (lineA === lineB) equal++;
    else {
      differing++;
      first ??= { at: `line ${linesA.count}`, a: JSON.stringify(shown(lineA)), b: JSON.stringify(shown(lineB)) };
    }
  }
  const lines = Math.max(linesA.count, linesB.count);
  return { lines_a: linesA.count, lines_b: linesB.count, differing, agreement: lines === 0 ? 1 : equal / lines, first_difference: first };
}

export function labelsAgree(comparison: LabelsComparison, minAgreement: number): boolean {
  return comparison.lines_a === comparison.lines_b && comparison.agreement >= minAgreement;
}
