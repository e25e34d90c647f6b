// A metric line as a job writes it: what is read, and why the rest is not.
import { describe, expect, it } from "vitest";
import { reportedMetricLimits } from "../../protocol/limits.ts";
import { parseMetricLine } from "../../protocol/reportedMetrics.ts";

const line = (body: string) => `POND_METRICS ${body}`;

describe("parseMetricLine", () => {
  it("reads a step and every named number, in order", () => {
    expect(parseMetricLine(line('{"step": 3, "loss": 0.21, "val/accuracy": 0.9, "lr": 1e-4}'))).toEqual({
      kind: "report",
      report: { step: 3, values: [["loss", 0.21], ["val/accuracy", 0.9], ["lr", 0.0001]] },
    });
    expect(parseMetricLine(line('{"loss": 1}'))).toEqual({ kind: "report", report: { step: null, values: [["loss", 1]] } });
  });

  it("takes Python's NaN and Infinity for a diverged run, as null, and only where a value stands", () => {
    expect(parseMetricLine(line('{"step": 7, "loss": NaN, "grad": Infinity, "low": -Infinity}'))).toEqual({
      kind: "report",
      report: { step: 7, values: [["loss", null], ["grad", null], ["low", null]] },
    });
    expect(parseMetricLine(line('{"NaN_count": 2}'))).toEqual({ kind: "report", report: { step: null, values: [["NaN_count", 2]] } });
    expect(parseMetricLine(line('{"loss": "NaN"}'))).toMatchObject({ kind: "ignored", reason: '"loss" must be a number; it is "NaN"' });
  });

  it.each([
    ["not JSON", "{loss: 1}", "is not JSON"],
    ["an array", "[1, 2]", "must be a JSON object"],
    ["a string value", '{"loss": "low"}', '"loss" must be a number'],
    ["a nested object", '{"loss": {"train": 1}}', '"loss" must be a number'],
    ["a boolean", '{"done": true}', '"done" must be a number'],
    ["a negative step", '{"step": -1, "loss": 1}', '"step" must be a whole number'],
    ["a step past the bound", '{"step": 9007199254740993, "loss": 1}', '"step" must be a whole number from 0 to 1000000000000000'],
    ["a value too large for a number", '{"loss": 1e999}', '"loss" is too large for a number'],
    ["a name that is every object's prototype", '{"__proto__": 1}', "is not a metric name"],
    ["a fractional step", '{"step": 1.5, "loss": 1}', '"step" must be a whole number'],
    ["a name with a space", '{"val loss": 1}', "is not a metric name"],
    ["a name starting with a digit", '{"1st": 1}', "is not a metric name"],
    ["no metric", '{"step": 4}', "names no metric"],
  ])("ignores %s, saying why", (_, body, reason) => {
    const parsed = parseMetricLine(line(body));
    expect(parsed.kind).toBe("ignored");
    expect(parsed.kind === "ignored" && parsed.reason).toContain(reason);
  });

  it("escapes what a terminal or a page would act on in the reason it gives", () => {
    const parsed = parseMetricLine(line('{"a\u202eb": 1}'));
    expect(parsed.kind === "ignored" && parsed.reason).toContain("a\\u202eb");
    const value = parseMetricLine(line('{"loss": "\u0085x"}'));
    expect(value.kind === "ignored" && value.reason).toContain("\\u0085x");
  });

  it("ignores a name or a line past its bound", () => {
    const long = "n".repeat(reportedMetricLimits.maxNameLength + 1);
    expect(parseMetricLine(line(`{"${long}": 1}`)).kind).toBe("ignored");
    expect(parseMetricLine(line(`{"${"n".repeat(reportedMetricLimits.maxNameLength)}": 1}`)).kind).toBe("report");
    const padded = line(`{"loss": 1${" ".repeat(reportedMetricLimits.maxLineChars)}}`);
    expect(parseMetricLine(padded)).toMatchObject({ kind: "ignored", reason: expect.stringContaining(`at most ${reportedMetricLimits.maxLineChars} characters`) });
  });
});
