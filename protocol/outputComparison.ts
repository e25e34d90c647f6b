// Whether two runs' outputs agree, as a job's `verify` declares
// (protocol/verification.ts, docs/creators.md "Choosing how a challenge
// compares outputs"): what a mediator's verdict on a tolerant job rests on,
// and what `pond verify` shows a creator before they challenge. Pure and
// platform-neutral: the files come through an OutputSet (p2p/node/outputSet.ts
// reads a folder).
//
// The rules, kept exactly:
// - The two sets must list the same paths; a path in one only, or listed twice, never agrees.
// - Each file takes the first rule whose `path` matches it (the path itself, or
//   a glob: `*` within a name, `**` across folders, dot files included);
//   a file no rule matches, and every file under `{mode: "exact"}` or no
//   `verify` at all, agrees only when its sha256 and size are equal: exactly
//   the result hash's equality. Identical files agree under any rule, unread.
// - A ruled file larger than MAX_TOLERANT_FILE_BYTES, or one that is not valid
//   UTF-8 (a byte-order mark is kept as text), is compared byte for byte.
// - Numbers a and b agree when |a − b| ≤ max(rtol·max(|a|, |b|), atol)
//   (Python's math.isclose; symmetric; rtol and atol default to 0); NaN agrees
//   only with NaN, ±Infinity only with itself.
// - json: the same shape (object key sets equal, arrays of equal length,
//   strings, booleans and nulls equal, a number only ever against a number),
//   numbers within the tolerance. A leading byte-order mark is skipped. If one
//   file does not parse they disagree; if neither does they agree only when
//   identical.
// - csv (RFC 4180: quoted cells with `""`, LF or CRLF, a final line ending
//   optional): the same number of rows, row i with as many cells in both; a
//   cell that is a number in both (decimal or exponent notation, or nan, inf,
//   infinity in any case, signed, spaces or tabs around) agrees within the
//   tolerance, any other cell must be the same text. Parse errors as for json.
//   Rows are counted from 1, the first row included; a column is named by the
//   first row's cell when both tables have the same non-numeric one there.
// - present: the file is in both sets; its bytes are not compared.
// - labels: lines split on LF (a CR before it dropped; a final LF adds no
//   line); the files must have as many lines, and equal lines / lines (1 for
//   two empty files) must be at least min_agreement.
// Hostile files never make it throw (only an invalid spec does, or a set's read
// failing): deep JSON is walked with a stack, everything is linear in size, and
// values quoted in the report are cut short.
import picomatch from "picomatch/posix";
import { compareCsvTexts } from "./outputComparison/csv.ts";
import { compareJsonTexts } from "./outputComparison/json.ts";
import { compareLabelTexts, labelsAgree, type LabelsComparison } from "./outputComparison/labels.ts";
import type { NumbersComparison } from "./outputComparison/numbers.ts";
import { MAX_TOLERANT_FILE_BYTES, VerifySpec, type VerifyRule } from "./verification.ts";

export type { Mismatch, NumbersComparison, Place } from "./outputComparison/numbers.ts";
export type { LabelsComparison } from "./outputComparison/labels.ts";
export { describeFileComparison, summarizeComparison } from "./outputComparison/describe.ts";

/** One output file as its run's manifest lists it. */
export interface OutputFileRef {
  path: string;
  size: number;
  sha256: string;
}

/** One run's outputs: the listing, and a way to read a file of it (only called for a ruled file within MAX_TOLERANT_FILE_BYTES whose sha256 differs). */
export interface OutputSet {
  files: readonly OutputFileRef[];
  read(path: string): Promise<Uint8Array>;
}

interface FileVerdict {
  path: string;
  /** The rule that matched, or "exact" when none did (or the job compares exactly). */
  rule: VerifyRule | "exact";
  ok: boolean;
}

export type FileComparison =
  | (FileVerdict & {
      by: "sha256";
      a_sha256: string;
      b_sha256: string;
      a_size: number;
      b_size: number;
      /** Why a ruled file was compared byte for byte. */
      note?: string;
    })
  | (FileVerdict & { by: "numbers" } & NumbersComparison)
  | (FileVerdict & { by: "labels" } & LabelsComparison)
  | (FileVerdict & { by: "presence" });

export interface OutputComparison {
  agree: boolean;
  mode: VerifySpec["mode"];
  /** The files both sets have, by path. */
  files: FileComparison[];
  only_in_a: string[];
  only_in_b: string[];
  /** Paths a set lists more than once. */
  listed_twice: string[];
}

export async function compareOutputs(verify: VerifySpec | undefined, a: OutputSet, b: OutputSet): Promise<OutputComparison> {
  const spec = VerifySpec.parse(verify ?? { mode: "exact" });
  const rules = spec.mode === "tolerant" ? spec.files.map((rule) => ({ rule, matches: matcherOf(rule.path) })) : [];
  const listedTwice = new Set<string>();
  const [filesA, filesB] = [byPath(a.files, listedTwice), byPath(b.files, listedTwice)];
  const files: FileComparison[] = [];
  // One pair at a time: at most two files' bytes are held at once.
  for (const path of [...filesA.keys()].filter((p) => filesB.has(p)).sort(byCodeUnit)) {
    const rule = rules.find((r) => r.matches(path))?.rule;
    files.push(await compareFile(path, rule, filesA.get(path)!, filesB.get(path)!, a, b));
  }
  const onlyInA = [...filesA.keys()].filter((p) => !filesB.has(p)).sort(byCodeUnit);
  const onlyInB = [...filesB.keys()].filter((p) => !filesA.has(p)).sort(byCodeUnit);
  return {
    agree: files.every((f) => f.ok) && onlyInA.length === 0 && onlyInB.length === 0 && listedTwice.size === 0,
    mode: spec.mode,
    files,
    only_in_a: onlyInA,
    only_in_b: onlyInB,
    listed_twice: [...listedTwice].sort(byCodeUnit),
  };
}

function matcherOf(pattern: string): (path: string) => boolean {
  const glob = picomatch(pattern, { dot: true });
  return (path) => path === pattern || glob(path);
}

function byPath(files: readonly OutputFileRef[], listedTwice: Set<string>): Map<string, OutputFileRef> {
  const map = new Map<string, OutputFileRef>();
  for (const file of files) {
    if (map.has(file.path)) listedTwice.add(file.path);
    map.set(file.path, file);
  }
  return map;
}

const byCodeUnit = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

async function compareFile(path: string, rule: VerifyRule | undefined, fileA: OutputFileRef, fileB: OutputFileRef, a: OutputSet, b: OutputSet): Promise<FileComparison> {
  const bytewise = (note?: string): FileComparison => ({
    path,
    rule: rule ?? "exact",
    ok: fileA.sha256 === fileB.sha256 && fileA.size === fileB.size,
    by: "sha256",
    a_sha256: fileA.sha256,
    b_sha256: fileB.sha256,
    a_size: fileA.size,
    b_size: fileB.size,
    ...(note === undefined ? {} : { note }),
  });
  if (rule?.format === "present") return { path, rule, ok: true, by: "presence" };
  if (!rule || (fileA.sha256 === fileB.sha256 && fileA.size === fileB.size)) return bytewise();
  const tooLarge = `larger than ${MAX_TOLERANT_FILE_BYTES} bytes, so compared byte for byte`;
  if (fileA.size > MAX_TOLERANT_FILE_BYTES || fileB.size > MAX_TOLERANT_FILE_BYTES) return bytewise(tooLarge);
  const [bytesA, bytesB] = [await a.read(path), await b.read(path)];
  if (bytesA.length > MAX_TOLERANT_FILE_BYTES || bytesB.length > MAX_TOLERANT_FILE_BYTES) return bytewise(tooLarge);
  const [textA, textB] = [utf8(bytesA), utf8(bytesB)];
  if (textA === undefined || textB === undefined) {
    const which = textA === undefined && textB === undefined ? "neither is" : textA === undefined ? "a is not" : "b is not";
    return bytewise(`${which} UTF-8 text, so compared byte for byte`);
  }
  switch (rule.format) {
    case "json":
    case "csv": {
      const tolerance = { rtol: rule.rtol ?? 0, atol: rule.atol ?? 0 };
      const compared = (rule.format === "json" ? compareJsonTexts : compareCsvTexts)(textA, textB, tolerance);
      return { path, rule, ok: compared.mismatch === null && compared.beyond_tolerance === 0, by: "numbers", ...compared };
    }
    case "labels": {
      const compared = compareLabelTexts(textA, textB);
      return { path, rule, ok: labelsAgree(compared, rule.min_agreement), by: "labels", ...compared };
    }
  }
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // Not UTF-8: the caller compares bytes instead.
    return undefined;
  }
}
