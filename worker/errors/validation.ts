// Turns zod failures into the 422 problem that names every failing field.
import type { z } from "zod";
import { unprocessable, type FieldError } from "./problem.ts";

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "(body)",
    message: issue.message,
  }));
}

export function validationError(error: z.ZodError, target: string) {
  const errors = fieldErrors(error);
  const fields = [...new Set(errors.map((e) => e.path))].join(", ");
  return unprocessable(`the ${target} has ${errors.length} invalid field${errors.length === 1 ? "" : "s"}: ${fields}`, errors);
}
