// CORS for the API (/v1/*): a web app on another origin may call it, as the SDK
// does from a browser. Any origin is safe to allow, and is the default in every
// environment: CORS protects credentials a browser attaches on its own
// (cookies, HTTP auth, client certificates), and the API honours none. Every
// credential it takes (a bearer key, a signed SIWE message, a provider's signed
// headers, a signaling token) is sent only by code that holds it, so a page on
// another origin can do nothing here it could not do with its own key, and
// there is nothing for a cross-site request to forge (CSRF). For the same
// reason credentials stay off. CORS_ORIGINS narrows the origins for an operator
// who wants that.
import type { Context } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "./appEnv.ts";

/** What a browser's request to the API may carry besides the CORS-safelisted headers. */
const REQUEST_HEADERS = ["authorization", "content-type", "idempotency-key", "prefer", "range", "if-range", "if-none-match", "last-event-id"];

/** Response headers a browser's script may read, besides the safelisted ones. */
const EXPOSED_HEADERS = [
  // Idempotent replays, Prefer: wait, rate limits, where a created resource is.
  "idempotent-replayed",
  "preference-applied",
  "retry-after",
  "location",
  // Output downloads: revalidation, resuming, the content hash to check.
  "etag",
  "accept-ranges",
  "content-range",
  "content-disposition",
  "x-pond-sha256",
];

/** A preflight's answer may be reused this long (browsers cap it at 2 h or less). */
const PREFLIGHT_MAX_AGE_S = 600;

/** The Access-Control-Allow-Origin for a request from `origin`, or null to answer without CORS. */
export function allowedOrigin(origins: "*" | readonly string[], origin: string): string | null {
  if (origins === "*") return "*";
  return origin !== "" && origins.includes(origin) ? origin : null;
}

export const apiCors = cors({
  origin: (origin, c: Context<AppEnv>) => allowedOrigin(c.get("config").cors.origins, origin),
  allowMethods: ["GET", "HEAD", "POST", "PUT", "DELETE"],
  allowHeaders: REQUEST_HEADERS,
  exposeHeaders: EXPOSED_HEADERS,
  maxAge: PREFLIGHT_MAX_AGE_S,
  credentials: false,
});
