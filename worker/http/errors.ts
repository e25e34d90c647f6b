// The app's last line: every error leaves as problem+json. User mistakes carry
// their own message; anything else is a bug, logged here and answered with a
// generic 500 so no internals (or secrets) leak.
import type { Context } from "hono";
import type { RouterRoute } from "hono/types";
import { HTTPException } from "hono/http-exception";
import type { Config } from "../config/config.ts";
import { ApiError, apiErrorResponse, problemResponse } from "../errors/problem.ts";
import { redactRpcUrl } from "../security/safeErrorText.ts";
import { allowedMethods } from "./allowedMethods.ts";

export function handleError(error: Error, c: Context): Response {
  const instance = new URL(c.req.url).pathname;
  if (error instanceof ApiError) return apiErrorResponse(error, instance);
  if (error instanceof HTTPException) {
    const status = error.status;
    const detail = status === 400 ? "the request body is not valid JSON" : error.message || "request refused";
    return problemResponse({ type: "https://pond.dev/problems/http", title: status === 400 ? "Bad request" : "Request refused", status, detail, instance });
  }
  // The stack starts with the message, where viem writes the RPC URL (which may hold an API key).
  // Config may not be parsed yet (the error may be that it is invalid): then the raw variable is all there is.
  const rpcUrl = (c.get("config") as Config | undefined)?.chain.rpcUrl ?? (c.env as { RPC_URL?: string } | undefined)?.RPC_URL;
  console.error(`unhandled error on ${c.req.method} ${instance}:`, redactRpcUrl(error.stack ?? `${error.name}: ${error.message}`, rpcUrl));
  return problemResponse({
    type: "https://pond.dev/problems/internal",
    title: "Internal error",
    status: 500,
    detail: "something went wrong on our side; the request may be retried",
    instance,
  });
}

/** No route for this method and path: 405 with Allow where other methods have one (from `routes`), else 404. */
export function handleUnrouted(c: Context, routes: readonly RouterRoute[]): Response {
  const path = new URL(c.req.url).pathname;
  const allowed = allowedMethods(routes, path);
  if (allowed.length > 0) {
    const choices = allowed.length === 1 ? allowed[0] : `${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)}`;
    return problemResponse(
      {
        type: "https://pond.dev/problems/method-not-allowed",
        title: "Method not allowed",
        status: 405,
        detail: `${c.req.method} is not allowed on ${path}: use ${choices}`,
        instance: path,
      },
      { allow: allowed.join(", ") },
    );
  }
  return problemResponse({
    type: "https://pond.dev/problems/not-found",
    title: "Not found",
    status: 404,
    detail: `there is no route ${c.req.method} ${path}`,
  });
}
