// Which methods a path is served with, read from the app's own routes: what a
// 405's Allow header lists (RFC 9110 §15.5.6), so a new route is listed without
// anyone writing it down twice.
import { METHOD_NAME_ALL } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";

// A cache, not state: the same routes always build the same matcher.
const matchers = new WeakMap<readonly RouterRoute[], TrieRouter<string>>();

/** Every route under one key, its method as the value: one match then yields every method the path has. */
function matcherFor(routes: readonly RouterRoute[]): TrieRouter<string> {
  const cached = matchers.get(routes);
  if (cached) return cached;
  const matcher = new TrieRouter<string>();
  // Middleware is registered for ALL; it serves no method of its own.
  for (const route of routes) if (route.method !== METHOD_NAME_ALL) matcher.add(METHOD_NAME_ALL, route.path, route.method);
  matchers.set(routes, matcher);
  return matcher;
}

/** The methods `path` is served with, sorted; HEAD wherever GET is (Hono answers HEAD with the GET route). Empty: no route has the path. */
export function allowedMethods(routes: readonly RouterRoute[], path: string): string[] {
  const methods = new Set(matcherFor(routes).match(METHOD_NAME_ALL, path)[0].map(([method]) => method));
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}
