// Guards every /v1 body passes before a route sees it.
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import { MAX_BODY_BYTES } from "../../protocol/limits.ts";
import type { AppEnv } from "./appEnv.ts";
import { payloadTooLarge, unsupportedMediaType } from "../errors/problem.ts";

export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw payloadTooLarge(MAX_BODY_BYTES);
  },
});

const jsonMediaType = /^application\/([\w.-]+\+)?json$/i;

/** A body that is not JSON is refused outright, rather than read as empty. */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const hasBody = c.req.raw.body !== null && c.req.header("content-length") !== "0";
  const type = c.req.header("content-type")?.split(";")[0]?.trim();
  if (hasBody && ["POST", "PUT", "PATCH"].includes(c.req.method) && (type === undefined || !jsonMediaType.test(type))) {
    throw unsupportedMediaType();
  }
  await next();
});

/**
 * For a route whose body may be left out: an empty body, whatever content type it is sent
 * with (`curl -d ''`), is no body, so it is neither refused as bad JSON nor as a media type.
 */
export const emptyBodyIsNone = createMiddleware<AppEnv>(async (c, next) => {
  // Read through Hono's cache: the idempotency check before may have read it already.
  if (c.req.header("content-type") !== undefined && (await c.req.text()) === "") {
    const headers = new Headers(c.req.raw.headers);
    headers.delete("content-type");
    headers.delete("content-length");
    c.req.raw = new Request(c.req.raw.url, { method: c.req.method, headers });
  }
  await next();
});

/** The relay's uploads (a chunk is raw bytes; a manifest may pass 1 MiB): each route bounds its own body. */
const RELAY_UPLOAD = /^\/v1\/jobs\/[^/]+\/data\/(inputs|chunks\/[0-9a-f]{64})$/;

/** The guards every /v1/jobs body passes, except the relay's uploads. */
export const guardJobBodies = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === "PUT" && RELAY_UPLOAD.test(c.req.path)) return next();
  await limitBody(c, async () => {
    await requireJsonBody(c, next);
  });
});
