// Two comma-separated tables (RFC 4180): the same rows, each with as many
// cells in both; a cell that is a number in both agrees within the tolerance,
// any other cell must be the same text. Both files are read in step, one row
// at a time, after a first pass that only checks they parse: a 64 MiB table is
// never held as millions of cells at once.
import { NumberTally, numbersComparisonOf, shown, unparsedComparison, type Mismatch, type NumbersComparison, type Place, type Tolerance } from "./numbers.ts";

class CsvSyntaxError extends Error {}

/**
 * Rows, one at a time. Records end with LF or CRLF; a final line ending adds no
 * row. A quote opens a quoted field only at a field's start (then `""` is a
 * quote, and commas and line endings are text); after the closing quote only a
 * comma or the end of the row may come. Elsewhere a quote is plain text.
 */
class CsvRows {
  private pos = 0;
  /** Rows read so far: the next one's number is this plus 1. */
  row = 0;

  constructor(private readonly text: string) {}

  next(): string[] | null {
    if (this.pos >= this.text.length) return null;
    this.row++;
    const cells: string[] = [];
    for (;;) {
      const ended = this.text.charCodeAt(this.pos) === QUOTE ? this.quotedCell(cells) : this.plainCell(cells);
      if (ended) return cells;
    }
  }

  /** Reads one unquoted cell; true when it ended its row. */
  private plainCell(cells: string[]): boolean {
    const { text } = this;
    let end = this.pos;
    while (end < text.length && text.charCodeAt(end) !== COMMA && text.charCodeAt(end) !== LF) end++;
    const crlf = end < text.length && text.charCodeAt(end) === LF && end > this.pos && text.charCodeAt(end - 1) === CR;
    cells.push(text.slice(this.pos, crlf ? end - 1 : end));
    return this.pastSeparator(end);
  }

  private quotedCell(cells: string[]): boolean {
    const { text } = this;
    let cell = "";
    let from = this.pos + 1;
    for (;;) {
      const quote = text.indexOf('"', from);
      if (quote < 0) throw new CsvSyntaxError(`row ${this.row}: a quoted cell is never closed`);
      cell += text.slice(from, quote);
      if (text.charCodeAt(quote + 1) !== QUOTE) {
        cells.push(cell);
        let end = quote + 1;
        if (text.charCodeAt(end) === CR && text.charCodeAt(end + 1) === LF) end++;
        if (end < text.length && text.charCodeAt(end) !== COMMA && text.charCodeAt(end) !== LF) {
          throw new CsvSyntaxError(`row ${this.row}: text follows a quoted cell's closing quote`);
        }
        return this.pastSeparator(end);
      }
      cell += '"';
      from = quote + 2;
    }
  }

  /** Steps over the comma or line ending at `end`; true when the row ended. (A comma at the very end leaves one empty cell to read.) */
  private pastSeparator(end: number): boolean {
    this.pos = end + 1;
    return end >= this.text.length || this.text.charCodeAt(end) === LF;
  }
}
const [QUOTE, COMMA, LF, CR] = [0x22, 0x2c, 0x0a, 0x0d];

/** The first syntax error in a table, or undefined when it parses. */
function syntaxErrorOf(text: string): string | undefined {
  try {
    const rows = new CsvRows(text);
    while (rows.next());
    return undefined;
  } catch (error) {
    if (error instanceof CsvSyntaxError) return error.message;
    throw error;
  }
}

// Decimal or exponent notation, or nan / inf / infinity in any case, with an optional sign; spaces or tabs around it.
const NUMBER = /^[ \t]*[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)[ \t]*$/i;

/** A cell's number, or undefined when it is text. Only these forms: Number() alone would also take "0x1f", "" and "1_000". */
function numberOf(cell: string): number | undefined {
  if (!NUMBER.test(cell)) return undefined;
  const word = cell.trim().toLowerCase().replace(/^\+/, "");
  if (word === "nan" || word === "-nan") return NaN;
  if (word === "inf" || word === "infinity") return Infinity;
  if (word === "-inf" || word === "-infinity") return -Infinity;
  return Number(cell.trim());
}

export function compareCsvTexts(a: string, b: string, tolerance: Tolerance): NumbersComparison {
  const [errorA, errorB] = [syntaxErrorOf(a), syntaxErrorOf(b)];
  if (errorA !== undefined || errorB !== undefined) return unparsedComparison("CSV", a, b, errorA, errorB, tolerance);

  const tally = new NumberTally(tolerance);
  let worst: Place | null = null;
  const [rowsA, rowsB] = [new CsvRows(a), new CsvRows(b)];
  let header: { a: string[]; b: string[] } | undefined;
  const done = (mismatch: Mismatch | null) => numbersComparisonOf(tally, worst, mismatch);
  for (;;) {
    const [rowA, rowB] = [rowsA.next(), rowsB.next()];
    if (rowA === null || rowB === null) {
      if (rowA === rowB) return done(null);
      // Count the rest of the longer one, to say how many rows each has.
      while (rowsA.next());
      while (rowsB.next());
      return done({ at: "", a: `${rowsA.row} rows`, b: `${rowsB.row} rows`, why: "the tables have different numbers of rows" });
    }
    const row = rowsA.row;
    header ??= { a: rowA, b: rowB };
    if (rowA.length !== rowB.length) return done({ at: `row ${row}`, a: `${rowA.length} columns`, b: `${rowB.length} columns`, why: "the rows have different numbers of columns" });
    for (let column = 0; column < rowA.length; column++) {
      const [cellA, cellB] = [rowA[column]!, rowB[column]!];
      const [numberA, numberB] = [numberOf(cellA), numberOf(cellB)];
      if (numberA !== undefined && numberB !== undefined) {
        if (tally.record(numberA, numberB)) worst = { at: placeOf(header, row, column), a: shown(cellA.trim()), b: shown(cellB.trim()) };
      } else if (cellA !== cellB) {
        return done({ at: placeOf(header, row, column), a: JSON.stringify(shown(cellA)), b: JSON.stringify(shown(cellB)), why: numberA !== undefined || numberB !== undefined ? "a number in one, text in the other" : "the cells differ" });
      }
    }
  }
}

/** `row 5, column "acc"`: a column by its header when both tables' first row names it the same (and not with a number), else by its position from 1. */
function placeOf(header: { a: string[]; b: string[] }, row: number, column: number): string {
  const [nameA, nameB] = [header.a[column], header.b[column]];
  const named = nameA !== undefined && nameA === nameB && nameA !== "" && numberOf(nameA) === undefined;
  return `row ${row}, column ${named ? JSON.stringify(shown(nameA)) : String(column + 1)}`;
}
