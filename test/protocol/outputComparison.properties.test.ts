// The comparison's promises that hold for every input (protocol/outputComparison.ts):
// the same verdict whichever run is "a", identical outputs always agreeing,
// exact mode being result-hash equality; and hostile files (nested 100,000
// deep, 10 MB tables, broken text) judged without a throw or a giant report.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeResultHash } from "../../protocol/manifest.ts";
import { compareOutputs, describeFileComparison, type FileComparison, type OutputComparison } from "../../protocol/outputComparison.ts";
import { compareCsvTexts } from "../../protocol/outputComparison/csv.ts";
import { compareJsonTexts } from "../../protocol/outputComparison/json.ts";
import { compareLabelTexts } from "../../protocol/outputComparison/labels.ts";
import type { VerifySpec } from "../../protocol/verification.ts";
import { memoryOutputSet, type MemoryFiles } from "../helpers/outputSets.ts";

const tolerances = fc.record({ rtol: fc.constantFrom(0, 1e-9, 1e-3, 0.1, 1), atol: fc.constantFrom(0, 1e-12, 1e-3, 1) });
const specs: fc.Arbitrary<VerifySpec> = fc.record({ json: tolerances, csv: tolerances, min: fc.constantFrom(0.01, 0.5, 0.9, 1) }).map(({ json, csv, min }) => ({
  mode: "tolerant",
  files: [
    { path: "**/*.json", format: "json", ...json },
    { path: "**/*.csv", format: "csv", ...csv },
    { path: "**/*.txt", format: "labels", min_agreement: min },
  ],
}));

/** A number and a close (or not so close) version of it, both as text. */
const numberPairs = fc.tuple(fc.double({ noDefaultInfinity: false, noNaN: false }), fc.constantFrom(1, 1 + 1e-12, 1 + 1e-4, 1.5, -1, 0)).map(([x, factor]) => [x, x * factor] as const);
const cellPairs = fc.oneof(
  numberPairs.map(([x, y]) => [String(x), String(y)] as const),
  fc.tuple(fc.constantFrom("cat", "dog", "nan", "INF", "-inf", '"q, ""x"""', ""), fc.constantFrom("cat", "nan", "inf", '"q, ""x"""', "")),
);
const csvPairs = fc.array(fc.array(cellPairs, { minLength: 1, maxLength: 4 }), { maxLength: 6 }).map((rows) => {
  const side = (i: 0 | 1) => rows.map((row) => row.map((pair) => pair[i]).join(",")).join("\n");
  return [side(0), side(1)] as const;
});
/** Two JSON documents of mostly the same shape, numbers nudged, sometimes with a key, an item or a type changed. */
const jsonPairs = fc.tuple(fc.jsonValue({ maxDepth: 4 }), fc.array(numberPairs, { minLength: 1, maxLength: 8 }), fc.boolean()).map(([shape, numbers, reshape]) => {
  let i = 0;
  const nudged = (value: unknown, side: 0 | 1): unknown => {
    if (typeof value === "number") return numbers[i++ % numbers.length]![side];
    if (Array.isArray(value)) return value.map((item) => nudged(item, side));
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, nudged(v, side)]));
    return value;
  };
  const a = nudged(shape, 0);
  i = 0;
  const b = nudged(shape, 1);
  return [JSON.stringify(a), JSON.stringify(reshape ? { wrapped: b, extra: [1] } : b)] as const;
});
const labelPairs = fc.array(fc.tuple(fc.constantFrom("cat", "dog", ""), fc.constantFrom("cat", "dog", "")), { maxLength: 20 }).chain((pairs) =>
  fc.constantFrom(0, 1).map((extra) => [pairs.map((p) => p[0]).join("\n"), [...pairs.map((p) => p[1]), ...(extra ? ["bird"] : [])].join("\r\n")] as const),
);
const outputPairs = fc.record({ json: jsonPairs, csv: csvPairs, labels: labelPairs, blob: fc.tuple(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 })) }).map((p) => [
  { "m/metrics.json": p.json[0], "table.csv": p.csv[0], "preds.txt": p.labels[0], "model.pt": p.blob[0] },
  { "m/metrics.json": p.json[1], "table.csv": p.csv[1], "preds.txt": p.labels[1], "model.pt": p.blob[1] },
] as const);

/** What must not change when a and b trade places: every count and difference, the places, and each value moved to the other side. */
function swapped(file: FileComparison): unknown {
  const place = (p: { at: string; a: string; b: string } | null) => p && { at: p.at, a: p.b, b: p.a };
  switch (file.by) {
    case "sha256":
      return { ...file, a_sha256: file.b_sha256, b_sha256: file.a_sha256, a_size: file.b_size, b_size: file.a_size, note: file.note?.replace(/^a is/, "b is") };
    case "numbers":
      return { ...file, worst: place(file.worst), mismatch: file.mismatch && { ...place(file.mismatch), why: file.mismatch.why.replace(/^([ab]) is not valid (\w+); ([ab]) is$/, "$3 is not valid $2; $1 is") } };
    case "labels":
      return { ...file, lines_a: file.lines_b, lines_b: file.lines_a, first_difference: place(file.first_difference) };
  }
}
const withoutUndefined = (value: unknown) => JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))) as unknown;

describe("properties", () => {
  it("gives the same verdict, counts, differences and places whichever run is a", async () => {
    await fc.assert(
      fc.asyncProperty(specs, outputPairs, async (spec, [filesA, filesB]) => {
        const forward = await compareOutputs(spec, memoryOutputSet(filesA), memoryOutputSet(filesB));
        const backward = await compareOutputs(spec, memoryOutputSet(filesB), memoryOutputSet(filesA));
        expect(backward.agree).toBe(forward.agree);
        expect(withoutUndefined(backward.files.map(swapped))).toEqual(withoutUndefined(forward.files));
      }),
      { numRuns: 300 },
    );
  });

  it("always agrees on identical outputs, read or not", async () => {
    await fc.assert(
      fc.asyncProperty(specs, outputPairs, async (spec, [files]) => {
        expect((await compareOutputs(spec, memoryOutputSet(files), memoryOutputSet({ ...files }))).agree).toBe(true);
      }),
    );
    // The comparators themselves, on any text at all (the sets above never read identical files).
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), tolerances, (text, tolerance) => {
        expect(compareJsonTexts(text, text, tolerance)).toMatchObject({ beyond_tolerance: 0, mismatch: null });
        expect(compareCsvTexts(text, text, tolerance)).toMatchObject({ beyond_tolerance: 0, mismatch: null });
        expect(compareLabelTexts(text, text)).toMatchObject({ differing: 0, agreement: 1 });
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(compareJsonTexts(JSON.stringify(value), JSON.stringify(value, null, 2), { rtol: 0, atol: 0 }).mismatch).toBeNull();
      }),
    );
  });

  it("in exact mode agrees exactly when the result hashes are equal", async () => {
    const files = fc.dictionary(fc.constantFrom("a", "b", "c/d", "e.json"), fc.constantFrom("", "x", "y", "[1]"), { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(files, files, async (filesA, filesB) => {
        const [a, b] = [memoryOutputSet(filesA), memoryOutputSet(filesB)];
        const sameHash = (await computeResultHash(a.files)) === (await computeResultHash(b.files));
        expect((await compareOutputs({ mode: "exact" }, a, b)).agree).toBe(sameHash);
        expect((await compareOutputs(undefined, a, b)).agree).toBe(sameHash);
      }),
    );
  });
});

describe("hostile files", () => {
  const loose: VerifySpec = { mode: "tolerant", files: [{ path: "*", format: "json", rtol: 0.5 }] };
  const judge = async (spec: VerifySpec, a: MemoryFiles, b: MemoryFiles): Promise<OutputComparison> => compareOutputs(spec, memoryOutputSet(a), memoryOutputSet(b));

  it("walks JSON nested 100,000 deep without overflowing, and reports the place cut to its end", async () => {
    const depth = 100_000;
    const nested = (inner: string) => `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;
    const file = (await judge(loose, { "x.json": nested("1") }, { "x.json": nested("3") })).files[0]!;
    expect(file).toMatchObject({ ok: false, by: "numbers", numbers: 1, worst: { a: "1", b: "3" } });
    const at = (file as Extract<FileComparison, { by: "numbers" }>).worst!.at;
    expect(at).toMatch(/^…(\/0)+$/);
    expect(at.length).toBeLessThan(300);
    expect(describeFileComparison(file).length).toBeLessThan(600);

    const objects = (leaf: string) => `${'{"k":'.repeat(depth)}${leaf}${"}".repeat(depth)}`;
    expect((await judge(loose, { "x.json": objects('{"a": 1}') }, { "x.json": objects('{"b": 1}') })).files[0]).toMatchObject({ ok: false, mismatch: { why: "the objects have different keys" } });
    expect((await judge(loose, { "x.json": objects("1") }, { "x.json": objects(" 1.2 ") })).agree).toBe(true);
  });

  it("judges a 10 MB table, row by row, and finds the one cell beyond tolerance in its last row", async () => {
    const rows = 320_000;
    const table = (last: string) => `epoch,acc,label\n${Array.from({ length: rows }, (_, i) => `${i},${i === rows - 1 ? last : (i / rows).toFixed(9)},"cat, maybe"`).join("\n")}\n`;
    const a = table("0.5");
    expect(a.length).toBeGreaterThan(10_000_000);
    const spec: VerifySpec = { mode: "tolerant", files: [{ path: "t.csv", format: "csv", rtol: 1e-6 }] };
    const file = (await judge(spec, { "t.csv": a }, { "t.csv": table("0.5001") })).files[0]!;
    expect(file).toMatchObject({ ok: false, numbers: rows * 2, beyond_tolerance: 1, worst: { at: `row ${rows + 1}, column "acc"`, a: "0.5", b: "0.5001" } });
    expect((await judge(spec, { "t.csv": a }, { "t.csv": table("0.5000000001").replaceAll("\n", "\r\n") })).agree).toBe(true);
  });

  it("quotes at most a few dozen characters of a huge value, and reads a huge non-number cell in linear time", async () => {
    const huge = "1".repeat(5_000_000);
    const csv = (await judge({ mode: "tolerant", files: [{ path: "*", format: "csv" }] }, { "t.csv": `${huge}x` }, { "t.csv": `${huge}y` })).files[0]!;
    expect(csv).toMatchObject({ ok: false, mismatch: { why: "the cells differ" } });
    expect(describeFileComparison(csv).length).toBeLessThan(400);
    const json = (await judge(loose, { "x.json": JSON.stringify({ [huge]: huge }) }, { "x.json": JSON.stringify({ [huge]: `${huge}!` }) })).files[0]!;
    expect(describeFileComparison(json).length).toBeLessThan(600);
  });

  it("compares bytes when a file is not UTF-8 (a lone surrogate, an overlong form, a cut sequence)", async () => {
    for (const bad of [[0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe2, 0x82]]) {
      const file = (await judge(loose, { "x.json": "[1]" }, { "x.json": new Uint8Array([0x5b, 0x31, ...bad, 0x5d]) })).files[0]!;
      expect(file).toMatchObject({ ok: false, by: "sha256", note: "b is not UTF-8 text, so compared byte for byte" });
    }
  });

  it("never throws on any bytes under any rule", async () => {
    const spec: VerifySpec = { mode: "tolerant", files: [{ path: "*.json", format: "json", atol: 1 }, { path: "*.csv", format: "csv", rtol: 0.1 }, { path: "*.txt", format: "labels", min_agreement: 0.5 }] };
    const content = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ unit: "binary", maxLength: 64 }), fc.constantFrom('{"__proto__": 1}', '{"constructor": [1]}', '"', '""",', "\r", "\r\n\r\n", "1e999", "-0"));
    await fc.assert(
      fc.asyncProperty(content, content, async (x, y) => {
        const comparison = await judge(spec, { "f.json": x, "f.csv": x, "f.txt": x }, { "f.json": y, "f.csv": y, "f.txt": y });
        for (const file of comparison.files) expect(describeFileComparison(file)).toBeTypeOf("string");
      }),
      { numRuns: 500 },
    );
  });
});
