// Shared pieces of route definitions: the problem responses every route may give,
// and the factory for sub-apps that turn validation failures into 422 problems.
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import { PROBLEM_CONTENT_TYPE, Problem } from "../../protocol/problem.ts";
import type { AppEnv } from "../http/appEnv.ts";
import { validationError } from "../errors/validation.ts";

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, result.target === "json" ? "request body" : result.target);
    },
  });
}

const problem = (description: string) => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } } });

export const problems = {
  400: problem("Malformed request"),
  401: problem("Missing, unknown or revoked API key"),
  403: problem("Not allowed for this account"),
  404: problem("Not found (or not yours)"),
  409: problem("Conflict with the resource's current state"),
  413: problem("Body over 1 MiB"),
  415: problem("Body is not application/json"),
  416: problem("The range starts past the file's end; `Content-Range` gives its length"),
  422: problem("Validation failed; `errors` names every failing field"),
  426: problem("Not a WebSocket upgrade: open this route with a WebSocket"),
  429: problem("Too many requests; `Retry-After` says when to ask again"),
  503: problem("Not available here now; `detail` says why"),
} as const;

export const bearer = [{ bearerAuth: [] }];

/** A JSON response (or body) of `schema`, for route definitions. */
export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });
