// The declared comparison of two runs' outputs (protocol/outputComparison.ts):
// each rule and edge the module's header promises, on in-memory output sets.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareOutputs, describeFileComparison, summarizeComparison, type FileComparison } from "../../protocol/outputComparison.ts";
import { compareCsvTexts } from "../../protocol/outputComparison/csv.ts";
import { compareJsonTexts } from "../../protocol/outputComparison/json.ts";
import { compareLabelTexts } from "../../protocol/outputComparison/labels.ts";
import { numbersAgree } from "../../protocol/outputComparison/numbers.ts";
import { MAX_TOLERANT_FILE_BYTES, type VerifySpec } from "../../protocol/verification.ts";
import { memoryOutputSet } from "../helpers/outputSets.ts";

const setOf = memoryOutputSet;
const tolerant = (...files: Extract<VerifySpec, { mode: "tolerant" }>["files"]): VerifySpec => ({ mode: "tolerant", files });
const fileOf = (comparison: { files: FileComparison[] }, path: string) => comparison.files.find((f) => f.path === path)!;
const tol = (rtol: number, atol = 0) => ({ rtol, atol });

describe("exact comparison (no verify, or mode exact)", () => {
  it("agrees on identical sets without reading a file, and names the sha256s of one that differs", async () => {
    const a = setOf({ "model.pt": "weights", "metrics.json": '{"loss": 0.5}' });
    expect((await compareOutputs(undefined, a, setOf({ "model.pt": "weights", "metrics.json": '{"loss": 0.5}' }))).agree).toBe(true);
    const b = setOf({ "model.pt": "weights", "metrics.json": '{"loss": 0.5000001}' });
    for (const verify of [undefined, { mode: "exact" } as const]) {
      const comparison = await compareOutputs(verify, a, b);
      expect(comparison).toMatchObject({ agree: false, mode: "exact", only_in_a: [], only_in_b: [] });
      expect(fileOf(comparison, "metrics.json")).toMatchObject({ rule: "exact", by: "sha256", ok: false, a_sha256: a.files[1]!.sha256, b_sha256: b.files[1]!.sha256 });
      expect(fileOf(comparison, "model.pt")).toMatchObject({ ok: true, by: "sha256" });
    }
    expect([...a.reads, ...b.reads]).toEqual([]);
  });

  it("never agrees on different sets of files, or a set that lists a path twice", async () => {
    const comparison = await compareOutputs(undefined, setOf({ x: "1", y: "2" }), setOf({ x: "1", z: "3" }));
    expect(comparison).toMatchObject({ agree: false, only_in_a: ["y"], only_in_b: ["z"] });
    expect(summarizeComparison(comparison)).toBe("differ byte for byte: only in a: y; only in b: z");
    const twice = setOf({ x: "1" });
    const listedTwice = { ...twice, files: [...twice.files, ...twice.files] };
    expect(await compareOutputs(undefined, listedTwice, setOf({ x: "1" }))).toMatchObject({ agree: false, listed_twice: ["x"] });
  });

  it("refuses a spec that is not valid: a bad call, not a verdict", async () => {
    await expect(compareOutputs({ mode: "tolerant", files: [] } as VerifySpec, setOf({}), setOf({}))).rejects.toThrow();
  });
});

describe("which rule applies", () => {
  it("takes the first rule whose path or glob matches; `*` stays within a name, `**` crosses folders; others compare by sha256", async () => {
    const verify = tolerant(
      { path: "metrics.json", format: "labels", min_agreement: 0.5 },
      { path: "*.json", format: "json", rtol: 0.1 },
      { path: "preds/**/*.csv", format: "csv", atol: 0.1 },
    );
    const a = setOf({ "metrics.json": "a\nb", "other.json": "[1]", ".hidden.json": "[1]", "sub/x.json": "[1]", "preds/a/b/p.csv": "1", "p.csv": "1" });
    const b = setOf({ "metrics.json": "a\nc", "other.json": "[1.01]", ".hidden.json": "[1.01]", "sub/x.json": "[1.01]", "preds/a/b/p.csv": "1.05", "p.csv": "1.05" });
    const comparison = await compareOutputs(verify, a, b);
    const applied = Object.fromEntries(comparison.files.map((f) => [f.path, [f.rule === "exact" ? "exact" : f.rule.path, f.ok]]));
    expect(applied).toEqual({
      "metrics.json": ["metrics.json", true],
      "other.json": ["*.json", true],
      ".hidden.json": ["*.json", true],
      "sub/x.json": ["exact", false],
      "preds/a/b/p.csv": ["preds/**/*.csv", true],
      "p.csv": ["exact", false],
    });
    expect(a.reads.sort()).toEqual([".hidden.json", "metrics.json", "other.json", "preds/a/b/p.csv"]);
  });

  it("present: the file must be in both runs, its bytes neither read nor compared", async () => {
    const verify = tolerant({ path: "model.pt", format: "present" }, { path: "metrics.json", format: "json", atol: 0.01 });
    const a = setOf({ "model.pt": "weights rounded one way", "metrics.json": '{"accuracy": 0.975}' });
    const b = setOf({ "model.pt": "weights rounded another", "metrics.json": '{"accuracy": 0.972}' });
    const comparison = await compareOutputs(verify, a, b);
    expect(comparison.agree).toBe(true);
    expect(fileOf(comparison, "model.pt")).toMatchObject({ by: "presence", ok: true });
    expect(describeFileComparison(fileOf(comparison, "model.pt"))).toBe('model.pt: in both (present rule "model.pt": bytes not compared)');
    expect([...a.reads, ...b.reads]).not.toContain("model.pt");
    // Missing from one run: the sets differ, whatever the rule.
    expect(await compareOutputs(verify, a, setOf({ "metrics.json": '{"accuracy": 0.975}' }))).toMatchObject({ agree: false, only_in_a: ["model.pt"] });
  });

  it("does not read identical files, and compares by sha256 a file too large or not UTF-8, saying why", async () => {
    const verify = tolerant({ path: "*", format: "json", rtol: 0.5 });
    const same = setOf({ "m.json": "[1]" });
    expect(fileOf(await compareOutputs(verify, same, setOf({ "m.json": "[1]" })), "m.json")).toMatchObject({ ok: true, by: "sha256", rule: { path: "*" } });
    expect(same.reads).toEqual([]);

    const big = setOf({ "m.json": "[1]" });
    const bigger = { ...big, files: [{ ...big.files[0]!, size: MAX_TOLERANT_FILE_BYTES + 1 }] };
    const large = fileOf(await compareOutputs(verify, bigger, setOf({ "m.json": "[1.1]" })), "m.json");
    expect(large).toMatchObject({ ok: false, by: "sha256", note: `larger than ${MAX_TOLERANT_FILE_BYTES} bytes, so compared byte for byte` });
    expect(big.reads).toEqual([]);

    const notText = fileOf(await compareOutputs(verify, setOf({ "m.json": new Uint8Array([0x5b, 0x31, 0xff, 0x5d]) }), setOf({ "m.json": "[1.1]" })), "m.json");
    expect(notText).toMatchObject({ ok: false, by: "sha256", note: "a is not UTF-8 text, so compared byte for byte" });
  });
});

describe("numbers within a tolerance", () => {
  it("is Python's isclose: |a − b| ≤ max(rtol·max(|a|, |b|), atol), the same either way round", () => {
    const cases: [number, number, number, number, boolean][] = [
      [1, 1.001, 1e-3, 0, true],
      [1, 1.0011, 1e-3, 0, false],
      [10, 11, 0.095, 0, true], // 1 ≤ 0.095·11, though not ≤ 0.095·10: the larger magnitude scales
      [10, 11, 0.09, 0, false],
      [100, 100.5, 0, 0.5, true],
      [100, 100.6, 0, 0.5, false],
      [0, 1e-12, 1e-3, 0, false],
      [0, 1e-12, 1e-3, 1e-9, true],
      [-1, 1, 1, 0, false],
      [0.1 + 0.2, 0.3, 0, 0, false],
      [0.1 + 0.2, 0.3, 1e-15, 0, true],
    ];
    for (const [a, b, rtol, atol, agree] of cases) {
      expect(numbersAgree(a, b, tol(rtol, atol)), `${a} ${b}`).toBe(agree);
      expect(numbersAgree(b, a, tol(rtol, atol))).toBe(agree);
    }
  });

  it("lets NaN agree only with NaN, and ±Infinity only with itself, whatever the tolerance", () => {
    const loose = tol(1, 1e300);
    expect(numbersAgree(NaN, NaN, tol(0))).toBe(true);
    expect(numbersAgree(NaN, 1, loose)).toBe(false);
    expect(numbersAgree(Infinity, Infinity, tol(0))).toBe(true);
    expect(numbersAgree(-Infinity, Infinity, loose)).toBe(false);
    expect(numbersAgree(Infinity, 1.7e308, loose)).toBe(false);
  });
});

describe("json", () => {
  it("agrees within the tolerance whatever the key order and spacing, and says where they came closest", () => {
    const compared = compareJsonTexts('{"loss": [0.5, 0.25, 0.125, 0.0625], "acc": 0.9, "name": "run"}', '{"name":"run","acc":0.9,"loss":[0.5,0.25,0.125,0.06251]}', tol(1e-3));
    expect(compared).toMatchObject({ numbers: 5, beyond_tolerance: 0, mismatch: null, worst: { at: "/loss/3", a: "0.0625", b: "0.06251" } });
    expect(compared.max_abs_diff).toBeCloseTo(1e-5, 12);
    expect(compared.max_rel_diff).toBeCloseTo(1e-5 / 0.06251, 12);
  });

  it("names the worst place beyond the tolerance with both values", async () => {
    const comparison = await compareOutputs(tolerant({ path: "metrics.json", format: "json", rtol: 1e-3 }), setOf({ "metrics.json": '{"loss": [0.5, 0.4, 0.3], "acc": 0.9}' }), setOf({ "metrics.json": '{"loss": [0.5, 0.41, 0.35], "acc": 0.9001}' }));
    const file = fileOf(comparison, "metrics.json");
    expect(file).toMatchObject({ ok: false, by: "numbers", numbers: 4, beyond_tolerance: 2, worst: { at: "/loss/2", a: "0.3", b: "0.35" } });
    expect(describeFileComparison(file)).toBe(
      'metrics.json: DIFFERS (json rule "metrics.json", rtol 0.001, atol 0): 2 of 4 numbers beyond tolerance, max abs diff 0.05, max rel diff 0.143; worst at /loss/2: 0.3 in a, 0.35 in b',
    );
    expect(summarizeComparison(comparison, "the job's")).toBe("differ under the job's tolerant comparison: 1 of 1 files in both differ (metrics.json)");
  });

  it("requires the same shape: keys, array lengths, strings, booleans, nulls, numbers only against numbers", () => {
    const loose = tol(1, 1e9);
    const mismatchOf = (a: string, b: string) => compareJsonTexts(a, b, loose).mismatch;
    expect(mismatchOf('{"a": 1, "b": 2, "c": 3}', '{"a": 1, "d": 2, "c": 3}')).toEqual({ at: "", a: 'only here: "b"', b: 'only here: "d"', why: "the objects have different keys" });
    expect(mismatchOf('{"x": [1, 2]}', '{"x": [1, 2, 3]}')).toEqual({ at: "/x", a: "an array of 2", b: "an array of 3", why: "the arrays differ in length" });
    expect(mismatchOf('{"x": [1, "2"]}', '{"x": [1, 2]}')).toEqual({ at: "/x/1", a: 'the string "2"', b: "the number 2", why: "the types differ" });
    expect(mismatchOf('{"m": "cat"}', '{"m": "dog"}')).toEqual({ at: "/m", a: 'the string "cat"', b: 'the string "dog"', why: "the strings differ" });
    expect(mismatchOf("[true]", "[false]")).toEqual({ at: "/0", a: "true", b: "false", why: "the booleans differ" });
    expect(mismatchOf("[null]", "[0]")).toEqual({ at: "/0", a: "null", b: "the number 0", why: "the types differ" });
    expect(mismatchOf("[{}]", "[[]]")).toEqual({ at: "/0", a: "an object of 0 keys", b: "an array of 0", why: "the types differ" });
    expect(mismatchOf('{"a/b": {"~": [1, {"k": "x"}]}}', '{"a/b": {"~": [1, {"k": "y"}]}}')).toMatchObject({ at: "/a~1b/~0/1/k" });
  });

  it("disagrees when only one file parses, saying which; agrees on identical unparseable text", () => {
    expect(compareJsonTexts("{", "{}", tol(0)).mismatch).toMatchObject({ at: "", b: "valid JSON", why: "a is not valid JSON; b is" });
    expect(compareJsonTexts("{}", "{", tol(0)).mismatch).toMatchObject({ a: "valid JSON", why: "b is not valid JSON; a is" });
    expect(compareJsonTexts("{", "[", tol(0)).mismatch).toMatchObject({ why: "neither is valid JSON, and they are not identical" });
    expect(compareJsonTexts("{nope", "{nope", tol(0)).mismatch).toBeNull();
    expect(compareJsonTexts("\ufeff[1]", "[1]", tol(0)).mismatch).toBeNull();
  });
});

describe("csv", () => {
  it("reads RFC 4180: LF or CRLF, a final line ending optional, quoted commas, line breaks and quotes", () => {
    const a = 'name,note,acc\n"x, y","said ""hi""\nthen left",0.5\nz,,1e-3\n';
    const b = 'name,note,acc\r\n"x, y","said ""hi""\nthen left",0.50\r\nz,,0.001';
    expect(compareCsvTexts(a, b, tol(0))).toMatchObject({ numbers: 2, beyond_tolerance: 0, mismatch: null });
    expect(compareCsvTexts('a,"b""",c', 'a,"b",c', tol(0)).mismatch).toMatchObject({ at: "row 1, column 2", a: '"b\\""', b: '"b"', why: "the cells differ" });
    expect(compareCsvTexts("1,2,", "1,2,", tol(0)).mismatch).toBeNull();
    expect(compareCsvTexts("1,2,", "1,2", tol(0)).mismatch).toMatchObject({ at: "row 1", a: "3 columns", b: "2 columns" });
  });

  it("compares cells that are numbers in both within the tolerance, names the column by its header, and compares the rest as text", () => {
    const a = "epoch,acc,label\n1,0.5,cat\n2,0.75,dog\n3,0.8,dog\n";
    const b = "epoch,acc,label\n1,0.5,cat\n2,0.7501,dog\n3,0.9,dog\n";
    expect(compareCsvTexts(a, b, tol(1e-3))).toMatchObject({ numbers: 6, beyond_tolerance: 1, worst: { at: 'row 4, column "acc"', a: "0.8", b: "0.9" }, mismatch: null });
    expect(compareCsvTexts(a, b.replace("dog\n3", "cow\n3"), tol(1)).mismatch).toMatchObject({ at: 'row 3, column "label"', a: '"dog"', b: '"cow"' });
    expect(compareCsvTexts("1,0x10", "1,16", tol(1)).mismatch).toMatchObject({ at: "row 1, column 2", why: "a number in one, text in the other" });
    expect(compareCsvTexts(" 1.5 ,\t2", "1.5,2.0", tol(0)).mismatch).toBeNull();
  });

  it("takes nan and inf in any case, NaN agreeing with NaN and infinities only with their own sign", () => {
    expect(compareCsvTexts("nan,inf,-Infinity,+INF", "NaN,Infinity,-inf,inf", tol(0))).toMatchObject({ numbers: 4, beyond_tolerance: 0, mismatch: null });
    expect(compareCsvTexts("inf", "-inf", tol(1, 1e300))).toMatchObject({ beyond_tolerance: 1, worst: { at: "row 1, column 1", a: "inf", b: "-inf" } });
    expect(compareCsvTexts("nan", "0", tol(1, 1e300)).beyond_tolerance).toBe(1);
  });

  it("requires the same rows, and disagrees with a table that does not parse, saying which", () => {
    expect(compareCsvTexts("1\n2\n", "1\n2\n3\n", tol(1)).mismatch).toEqual({ at: "", a: "2 rows", b: "3 rows", why: "the tables have different numbers of rows" });
    expect(compareCsvTexts('1,"open', "1,2", tol(1)).mismatch).toMatchObject({ a: "row 1: a quoted cell is never closed", why: "a is not valid CSV; b is" });
    expect(compareCsvTexts("1,2", '"1"x,2', tol(1)).mismatch).toMatchObject({ why: "b is not valid CSV; a is" });
    expect(compareCsvTexts("", "", tol(0))).toMatchObject({ numbers: 0, mismatch: null });
  });
});

describe("labels", () => {
  const lines = (n: number, differing: number) => Array.from({ length: n }, (_, i) => (i < differing ? "dog" : "cat")).join("\n");

  it("agrees when at least min_agreement of the lines are equal, counting a final LF and CRs before LF as nothing", async () => {
    const verify = tolerant({ path: "preds.txt", format: "labels", min_agreement: 0.98 });
    const at = async (differing: number) => fileOf(await compareOutputs(verify, setOf({ "preds.txt": `${lines(100, 0)}\n` }), setOf({ "preds.txt": lines(100, differing).replaceAll("\n", "\r\n") })), "preds.txt");
    expect(await at(2)).toMatchObject({ ok: true, lines_a: 100, lines_b: 100, differing: 2, agreement: 0.98, first_difference: { at: "line 1", a: '"cat"', b: '"dog"' } });
    expect(await at(3)).toMatchObject({ ok: false, agreement: 0.97 });
    expect(describeFileComparison(await at(3))).toBe('preds.txt: DIFFERS (labels rule "preds.txt", at least 98% equal): 97 of 100 lines equal (agreement 97%); first difference at line 1: "cat" in a, "dog" in b');
  });

  it("disagrees on files of different lengths however alike, and lets two empty files agree", async () => {
    const verify = tolerant({ path: "*", format: "labels", min_agreement: 0.01 });
    expect(fileOf(await compareOutputs(verify, setOf({ p: "a\nb\nc" }), setOf({ p: "a\nb\nc\nd" })), "p")).toMatchObject({ ok: false, lines_a: 3, lines_b: 4, agreement: 0.75 });
    expect(compareLabelTexts("", "")).toMatchObject({ lines_a: 0, lines_b: 0, agreement: 1 });
    expect(compareLabelTexts("", "\n")).toMatchObject({ lines_a: 0, lines_b: 1 });
    expect(compareLabelTexts("a\n\n", "a\n")).toMatchObject({ lines_a: 2, lines_b: 1 });
  });
});

describe("the module", () => {
  it("is platform-neutral, for the Worker and browsers too: it imports only its own files, protocol/ and picomatch's POSIX matcher", async () => {
    const root = join(import.meta.dirname, "..", "..", "protocol");
    const files = ["outputComparison.ts", ...(await readdir(join(root, "outputComparison"))).map((name) => `outputComparison/${name}`)];
    const imports = [];
    for (const file of files) {
      for (const match of (await readFile(join(root, file), "utf8")).matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)) imports.push(match[1]!);
    }
    expect(files.length).toBeGreaterThan(4);
    expect(imports.filter((path) => !/^(\.\/|\.\.\/[a-zA-Z]+\.ts$|picomatch\/posix$)/.test(path))).toEqual([]);
  });
});
