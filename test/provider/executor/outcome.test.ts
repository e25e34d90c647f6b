import { describe, expect, it } from "vitest";
import { verdictOf } from "../../../provider/executor/outcome.ts";

const spec = { timeout_s: 30, resources: { gpus: 0, cpus: 1, memory_mb: 64 } };

describe("verdictOf", () => {
  it("lets the exit code decide when a process inside was killed for memory: 0 succeeds, with a warning", () => {
    expect(verdictOf("exited", { exitCode: 0, oomKilled: true }, spec)).toEqual({
      outcome: "succeeded",
      error: null,
      warning: "a process in the job was killed: the container ran out of memory (limit 64 MiB); the job exited 0, so it succeeded",
    });
  });

  it("fails a job that exits non-zero after a kill for memory, saying so", () => {
    expect(verdictOf("exited", { exitCode: 137, oomKilled: true }, spec)).toMatchObject({ outcome: "failed", error: "the container ran out of memory (limit 64 MiB) and was killed" });
  });

  it("fails a job that went past the output cap, whatever it exited with", () => {
    expect(verdictOf("exited", { exitCode: 1, oomKilled: false }, spec, "the job wrote more than 8 bytes to /outputs")).toMatchObject({
      outcome: "failed",
      error: "the job wrote more than 8 bytes to /outputs, more than this provider keeps",
    });
  });

  it("names timeouts, cancels and a stop for too much output", () => {
    const end = { exitCode: 137, oomKilled: false };
    expect(verdictOf("timed_out", end, spec)).toMatchObject({ outcome: "timed_out", error: "the job ran past its timeout of 30 s and was stopped" });
    expect(verdictOf("canceled", end, spec)).toMatchObject({ outcome: "canceled" });
    expect(verdictOf({ tooMuchOutput: "the job wrote more than 8 bytes to /outputs" }, end, spec)).toMatchObject({ outcome: "failed", error: "the job wrote more than 8 bytes to /outputs and was stopped" });
  });
});
