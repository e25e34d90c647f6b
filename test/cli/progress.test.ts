// Progress as plain lines (not a terminal): at most one line every few seconds, the end always, and the same figure never twice.
import { describe, expect, it } from "vitest";
import { createProgress } from "../../cli/progress.ts";

function plainStream() {
  const lines: string[] = [];
  const stream = { isTTY: false, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream;
  return { stream, lines };
}

describe("behavior: plain progress lines", () => {
  it("writes the first figure and the end, not every step between", () => {
    const { stream, lines } = plainStream();
    const progress = createProgress(stream);
    for (let done = 1; done <= 10; done++) progress.update("downloading job_x", done, 10);
    expect(lines).toEqual(["downloading job_x  10%\n", "downloading job_x 100%\n"]);
  });

  it("writes 100% once when a transfer reports its end more than once", () => {
    const { stream, lines } = plainStream();
    const progress = createProgress(stream);
    progress.update("downloading job_y", 16, 16);
    progress.update("downloading job_y", 16, 16);
    progress.finish("downloading job_y");
    expect(lines).toEqual(["downloading job_y 100%\n"]);
  });

  it("writes nothing when disabled (--json)", () => {
    const { stream, lines } = plainStream();
    const progress = createProgress(stream, false);
    progress.update("pulling", 50, 100);
    progress.finish("pulling");
    expect(lines).toEqual([]);
  });
});
