// The tail stored on a job: its last characters, from a line's start where one is near.
import { describe, expect, it } from "vitest";
import { tailOf } from "../../../worker/rooms/logTail.ts";

describe("tailOf", () => {
  it("keeps short output whole", () => {
    expect(tailOf("a\nb\n", 10)).toBe("a\nb\n");
  });

  it("starts after the first line break in the last characters", () => {
    expect(tailOf("first line\nsecond\nthird\n", 10)).toBe("third\n");
  });

  it("keeps a line that starts exactly where the limit falls", () => {
    expect(tailOf("0123\nabcd\n", 5)).toBe("abcd\n");
  });

  it("keeps the last characters when they hold no line break", () => {
    expect(tailOf("x".repeat(20), 8)).toBe("x".repeat(8));
  });
});
