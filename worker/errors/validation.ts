// Turns zod failures into the 422 problem that names every failing field.
import type { z } from "zod";
import { unprocessable, type FieldError } from "./problem.ts";

type Issue = z.core.$ZodIssue;

/** Which shape of a union the caller meant, from each shape's issues; by default the one with the fewest. */
export type UnionChoice = (branches: readonly (readonly Issue[])[]) => number;

const fewestIssues: UnionChoice = (branches) => branches.reduce((best, issues, i) => (issues.length < branches[best]!.length ? i : best), 0);

/** A union's failure reports the issues of the shape the caller meant, not "invalid input". */
function flatten(issues: readonly Issue[], choose: UnionChoice, base: readonly PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  return issues.flatMap((issue) => {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const meant = issue.errors[choose(issue.errors)];
      if (meant && meant.length > 0) return flatten(meant, choose, path);
    }
    return [{ path, message: issue.message }];
  });
}

export function fieldErrors(error: z.ZodError, choose: UnionChoice = fewestIssues): FieldError[] {
  return flatten(error.issues, choose).map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
}

export function validationError(error: z.ZodError, target: string, choose?: UnionChoice) {
  const errors = fieldErrors(error, choose);
  const fields = [...new Set(errors.map((e) => e.path))].join(", ");
  return unprocessable(`the ${target} has ${errors.length} invalid field${errors.length === 1 ? "" : "s"}: ${fields}`, errors);
}
