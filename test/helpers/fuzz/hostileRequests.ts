// fast-check arbitraries for requests an attacker or a broken client would send
// to one route: odd path parameters and queries, bad or borrowed credentials,
// wrong content types, and bodies that are malformed, hostile or valid but bent.
import fc from "fast-check";
import type { RawRequest } from "./rawRequest.ts";
import type { Route } from "./openapiRoutes.ts";

/** What the fuzz knows of the world: keys to send, ids that exist, and a valid body per route. */
export interface FuzzFixture {
  validKey: string;
  otherAccountKey: string;
  revokedKey: string;
  /** Ids that exist (a job, an endpoint, a delivery, a key): path parameters that get past "not found". */
  realIds: string[];
  /** Those of `realIds` that belong to another account: no success may name them. */
  foreignIds: string[];
  /** A body each route accepts, by routeName(). */
  validBodies: Record<string, unknown>;
}

// Raw number text no JS number can hold; swapped in after JSON.stringify.
const RAW_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890123456789", "1e-400", "-0", "0.1e1", "9007199254740993"];
const rawMarker = (index: number) => `__raw_number_${index}__`;

const hostileScalar = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -1, 1.5, 2 ** 53 + 1, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE,
    "", " ", "\u0000", "a\u0000b", "\ud800", "\u202e", "9".repeat(400), "a".repeat(100_000),
    "__proto__", "constructor", "0x" + "f".repeat(64), "-1", "1e309", "http://127.0.0.1:1/", "javascript:alert(1)",
    [], {}, [[[[[]]]]], JSON.parse('{"__proto__":{"polluted":true}}'), { constructor: { prototype: {} } },
  ),
  fc.integer({ min: 0, max: RAW_NUMBERS.length - 1 }).map(rawMarker),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.integer(),
  fc.double(),
  fc.bigInt().map(String),
);
const hostileValue = fc.oneof({ weight: 4, arbitrary: hostileScalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) });

type Json = unknown;
type Edit = { op: "replace" | "delete" | "add"; at: number; key: string; value: Json };

/** Every object or array path inside `value`, the root included. */
function containerPaths(value: Json, path: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [];
  return [path, ...Object.entries(value).flatMap(([key, child]) => containerPaths(child, [...path, key]))];
}

function applyEdit(value: Json, edit: Edit): Json {
  const copy = structuredClone(value) as Record<string, Json>;
  const paths = containerPaths(copy);
  const path = paths[edit.at % paths.length]!;
  const target = path.reduce<Record<string, Json>>((node, key) => node[key] as Record<string, Json>, copy);
  const keys = Object.keys(target);
  const existing = keys.length > 0 ? keys[edit.at % keys.length]! : edit.key;
  if (edit.op === "delete") delete target[existing];
  else if (edit.op === "replace") target[existing] = edit.value;
  // An array takes an added element; a key on it ("length" would throw, a name is dropped by JSON) is no edit.
  else if (Array.isArray(target)) (target as Json[]).push(edit.value);
  else target[edit.key] = edit.value;
  return copy;
}

const edit: fc.Arbitrary<Edit> = fc.record({ op: fc.constantFrom("replace", "delete", "add"), at: fc.nat(), key: fc.string({ maxLength: 12 }), value: hostileValue });

/** A valid body, bent by one to three edits anywhere inside it. */
const bentBody = (valid: Json) => fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => edits.reduce(applyEdit, valid));

function toText(value: Json): string {
  let text = JSON.stringify(value) ?? "null";
  RAW_NUMBERS.forEach((raw, index) => (text = text.replaceAll(`"${rawMarker(index)}"`, raw)));
  return text;
}

const deepNesting = fc
  .record({ depth: fc.integer({ min: 64, max: 200_000 }), shape: fc.constantFrom("array", "object") })
  .map(({ depth, shape }) => (shape === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth)));

const notJson = fc.constantFrom("", "{", "}", "nul", '"', "{'a': 1}", '{"a":1,}', "\ufeff{}", "\u0000", "[1,2", "{}{}", "NaN", '{"a":01}', "<xml/>", "a=1&b=2");

/** A body as text: valid but bent, random JSON, deep nesting, raw numbers, not JSON at all, or none. */
export function hostileBody(valid: Json | undefined): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: valid === undefined ? 0 : 5, arbitrary: bentBody(valid ?? {}).map(toText) },
    { weight: valid === undefined ? 0 : 1, arbitrary: fc.constant(valid).map(toText) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(toText) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: notJson },
    { weight: valid === undefined ? 4 : 1, arbitrary: fc.constant(undefined) },
  );
}

/** Printable ASCII only: what a header value may hold. */
const printable = (maxLength: number) => fc.string({ maxLength }).map((s) => s.replace(/[^\x21-\x7e]/g, ""));
/**
 * What may stand unescaped in a path segment (RFC 3986 pchar). Anything else (a
 * backtick, a brace) is refused by the local HTTP server as an invalid URI before
 * the Worker sees it, so it is sent percent-encoded instead.
 */
const rawSegment = (maxLength: number) => fc.string({ maxLength }).map((s) => s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@]/g, ""));

const pathSegment = (realIds: string[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...realIds) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        "%00", "..", "%2e%2e", "%2F", "a%2Fb", "%zz", "%", "%E0%A4%A", "%F0%9F%98%80", "%20", "null", "undefined", "__proto__", "constructor",
        "-1", "0", "1e309", "NaN", ";", "'", "%22", "a".repeat(3000), `job_${"0".repeat(26)}`, "default", "*", "~", "$",
      ),
    },
    { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 40 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: rawSegment(24).filter((s) => s.length > 0) },
  );

const queryValue = fc.oneof(
  fc.constantFrom("", "0", "-1", "1.5", "1e309", "99999999999999999999999", "NaN", "Infinity", "null", "true", "[]", "%00", "%FF", "a".repeat(5000), "queued", "succeeded", "eyJ9", "%zz"),
  fc.integer().map(String),
  fc.string({ unit: "binary", maxLength: 30 }).map(encodeURIComponent),
);

function queryString(route: Route): fc.Arbitrary<string> {
  const known = route.queryParams.map((name) => fc.option(fc.array(queryValue, { minLength: 1, maxLength: 2 }).map((values) => values.map((v) => `${name}=${v}`))));
  const unknown = fc.option(fc.tuple(fc.string({ maxLength: 10 }), queryValue).map(([k, v]) => [`${encodeURIComponent(k)}=${v}`]));
  return fc.tuple(...known, unknown).map((parts) => {
    const pairs = parts.flatMap((p) => p ?? []);
    return pairs.length > 0 ? `?${pairs.join("&")}` : "";
  });
}

function authorization(fixture: FuzzFixture): fc.Arbitrary<string | undefined> {
  const { validKey, otherAccountKey, revokedKey } = fixture;
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(`Bearer ${validKey}`) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        undefined, `Bearer ${otherAccountKey}`, `Bearer ${revokedKey}`, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", `bearer ${validKey}`, `Bearer ${validKey}x`,
        `Bearer ${validKey.slice(0, -1)}`, `Bearer ${validKey}, Bearer ${otherAccountKey}`, `Bearer ${"a".repeat(8000)}`, `Token ${validKey}`, "Bearer pond_sk_",
      ),
    },
    { weight: 1, arbitrary: printable(60).map((junk) => `Bearer pond_sk_${junk}`) },
  );
}

const contentType = fc.oneof(
  { weight: 4, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined, "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
      "application/problem+json", "application/json;;;", "", "application/jsonx", "*/*", "application/octet-stream", "text/json",
    ),
  },
);

/** Waits the API honours are kept short (a valid one holds a create up to 60 s, which is no hang). */
const prefer = fc.option(fc.constantFrom("wait=0", "wait=1", "wait=abc", "wait=-3", "respond-async", 'wait="1"', "wait", "wait=1, wait=2"));
const idempotencyKey = fc.option(fc.oneof(printable(40), fc.constant("k".repeat(5000))));

export interface FuzzCase {
  request: RawRequest;
  /** What the case tried, for the failure report. */
  label: string;
}

/**
 * The headers: half the time clean (our key, JSON), so bodies and parameters get
 * past the front door and reach validation; otherwise each drawn on its own, so
 * odd parts meet in odd combinations.
 */
function envelope(fixture: FuzzFixture) {
  return fc.oneof(
    fc.record({
      authorization: fc.constant<string | undefined>(`Bearer ${fixture.validKey}`),
      contentType: fc.constant<string | undefined>("application/json"),
      prefer: fc.constant<string | null>(null),
      idempotencyKey: fc.option(printable(40).filter((key) => key.length > 0)),
    }),
    fc.record({ authorization: authorization(fixture), contentType, prefer, idempotencyKey }),
  );
}

/** One request to `route`. */
export function hostileRequest(route: Route, fixture: FuzzFixture, routeKey: string): fc.Arbitrary<FuzzCase> {
  const segments = route.pathParams.map(() => pathSegment(fixture.realIds));
  return fc
    .record({
      segments: fc.tuple(...segments),
      query: queryString(route),
      envelope: envelope(fixture),
      body: hostileBody(fixture.validBodies[routeKey]),
    })
    .map(({ segments: values, query, envelope: { authorization: auth, contentType: type, prefer: wait, idempotencyKey: key }, body }) => {
      let path = route.template;
      route.pathParams.forEach((name, i) => (path = path.replace(`{${name}}`, values[i] as string)));
      const headers: Record<string, string> = {};
      if (auth !== undefined) headers.authorization = auth;
      if (body !== undefined && type !== undefined) headers["content-type"] = type;
      if (wait) headers.prefer = wait;
      if (key) headers["idempotency-key"] = key;
      const request: RawRequest = { method: route.method, path: `${path}${query}`, headers, ...(body !== undefined ? { body } : {}) };
      const shownBody = body === undefined ? "(none)" : body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
      const shownHeaders = JSON.stringify(headers, (_k, v: unknown) => (typeof v === "string" && v.length > 200 ? `${v.slice(0, 200)}… (${v.length} chars)` : v));
      return { request, label: `${route.method} ${request.path.slice(0, 400)}\nheaders: ${shownHeaders}\nbody: ${shownBody}` };
    });
}

/** 10 MB: far past the 1 MiB limit, sent to every route as JSON and as something else. */
export function tenMegabyteRequests(route: Route, fixture: FuzzFixture): FuzzCase[] {
  const filler = `{"data":"${"x".repeat(10 * 1024 * 1024)}"}`;
  let path = route.template;
  for (const name of route.pathParams) path = path.replace(`{${name}}`, fixture.realIds[0]!);
  return ["application/json", "text/plain"].map((type) => ({
    request: { method: route.method, path, headers: { authorization: `Bearer ${fixture.validKey}`, "content-type": type }, body: filler },
    label: `${route.method} ${path} with a 10 MB ${type} body`,
  }));
}
