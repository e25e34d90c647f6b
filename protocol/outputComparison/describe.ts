// What a comparison found, in words: one line per file and one for the whole
// (what `pond verify` prints, and what a mediator may log with its verdict).
import type { FileComparison, OutputComparison } from "../outputComparison.ts";
import type { Place } from "./numbers.ts";

export function describeFileComparison(file: FileComparison): string {
  if (file.by === "presence") return `${file.path}: in both (present rule ${JSON.stringify(file.rule === "exact" ? file.path : file.rule.path)}: bytes not compared)`;
  const rule = file.rule === "exact" ? "exact" : `${file.rule.format} rule ${JSON.stringify(file.rule.path)}, ${toleranceOf(file.rule)}`;
  const head = `${file.path}: ${file.ok ? "agrees" : "DIFFERS"} (${rule})`;
  switch (file.by) {
    case "sha256": {
      const note = file.note ? `; ${file.note}` : "";
      if (file.ok) return `${file.path}: identical (${rule})${note}`;
      const sizes = file.a_size === file.b_size ? `${file.a_size} bytes each` : `${file.a_size} and ${file.b_size} bytes`;
      return `${head}: sha256 ${file.a_sha256.slice(0, 12)}… in a, ${file.b_sha256.slice(0, 12)}… in b, ${sizes}${note}`;
    }
    case "numbers": {
      if (file.mismatch) return `${head}: ${file.mismatch.why}${placeText(file.mismatch)}`;
      const counts = file.beyond_tolerance > 0 ? `${file.beyond_tolerance} of ${file.numbers} numbers beyond tolerance` : `${file.numbers} numbers within tolerance`;
      const diffs = `max abs diff ${figure(file.max_abs_diff)}, max rel diff ${figure(file.max_rel_diff)}`;
      const worst = file.worst ? `; ${file.ok ? "closest to the limit" : "worst"}${placeText(file.worst)}` : "; all equal";
      return `${head}: ${counts}, ${diffs}${worst}`;
    }
    case "labels": {
      const lines = file.lines_a === file.lines_b ? `${file.lines_a - file.differing} of ${file.lines_a} lines equal` : `${file.lines_a} lines in a, ${file.lines_b} in b`;
      const first = file.first_difference ? `; first difference${placeText(file.first_difference)}` : "";
      return `${head}: ${lines} (agreement ${percent(file.agreement)})${first}`;
    }
  }
}

/** One line for the whole: whether the sets agree, under which comparison (`whose`: "the job's"), and which files do not. */
export function summarizeComparison(comparison: OutputComparison, whose = "the"): string {
  const total = comparison.files.length + comparison.only_in_a.length + comparison.only_in_b.length;
  const under = comparison.mode === "tolerant" ? `under ${whose} tolerant comparison` : "byte for byte";
  if (comparison.agree) return `agree ${under}: ${total} file${total === 1 ? "" : "s"}`;
  const differing = comparison.files.filter((f) => !f.ok).map((f) => f.path);
  const parts = [
    differing.length ? `${differing.length} of ${comparison.files.length} files in both differ (${listed(differing)})` : "",
    comparison.only_in_a.length ? `only in a: ${listed(comparison.only_in_a)}` : "",
    comparison.only_in_b.length ? `only in b: ${listed(comparison.only_in_b)}` : "",
    comparison.listed_twice.length ? `listed twice: ${listed(comparison.listed_twice)}` : "",
  ];
  return `differ ${under}: ${parts.filter(Boolean).join("; ")}`;
}

function toleranceOf(rule: Exclude<FileComparison["rule"], "exact">): string {
  if (rule.format === "present") return "bytes not compared";
  return rule.format === "labels" ? `at least ${percent(rule.min_agreement)} equal` : `rtol ${rule.rtol ?? 0}, atol ${rule.atol ?? 0}`;
}

/** ` at /loss/3: 0.25 in a, 0.75 in b`; a place of "" is the whole file. */
function placeText(place: Place): string {
  return `${place.at === "" ? "" : ` at ${place.at}`}: ${place.a} in a, ${place.b} in b`;
}

function figure(x: number): string {
  return x === 0 || !Number.isFinite(x) ? String(x) : String(Number(x.toPrecision(3)));
}

function percent(share: number): string {
  return `${Number((share * 100).toPrecision(4))}%`;
}

function listed(paths: readonly string[]): string {
  return paths.length <= 5 ? paths.join(", ") : `${paths.slice(0, 5).join(", ")} and ${paths.length - 5} more`;
}
