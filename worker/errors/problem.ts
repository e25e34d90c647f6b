// API errors as values: each class maps to one RFC 9457 problem type, and
// `problemResponse` is the only place that turns one into HTTP.
import { PROBLEM_CONTENT_TYPE, type Problem } from "../../protocol/problem.ts";

const TYPE_BASE = "https://pond.dev/problems/";

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = "ApiError";
  }

  toProblem(instance?: string): Problem {
    return {
      type: `${TYPE_BASE}${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** An ApiError as plain data: a Durable Object's RPC keeps only an Error's message, so a refusal crosses it as a value. */
export interface ApiErrorData {
  status: number;
  slug: string;
  title: string;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

export const apiErrorData = (error: ApiError): ApiErrorData => ({
  status: error.status,
  slug: error.slug,
  title: error.title,
  detail: error.message,
  ...(error.errors ? { errors: error.errors } : {}),
  ...(error.headers ? { headers: error.headers } : {}),
});

export const apiErrorFromData = (data: ApiErrorData) => new ApiError(data.status, data.slug, data.title, data.detail, data.errors, data.headers);

export const badRequest = (detail: string) => new ApiError(400, "bad-request", "Bad request", detail);
export const unauthorized = (detail: string) =>
  new ApiError(401, "unauthorized", "Unauthorized", detail, undefined, { "www-authenticate": 'Bearer realm="pond"' });
/** The same answer for a key that never existed and one revoked: nothing to learn from the difference. */
export const unknownApiKey = () => unauthorized("the API key is unknown or revoked");
export const forbidden = (detail: string) => new ApiError(403, "forbidden", "Forbidden", detail);
export const notFound = (what: string) => new ApiError(404, "not-found", "Not found", `${what} was not found`);
export const conflict = (slug: string, detail: string) => new ApiError(409, slug, "Conflict", detail);
export const payloadTooLarge = (limit: number) =>
  new ApiError(413, "payload-too-large", "Payload too large", `the request body exceeds ${limit} bytes`);
export const unsupportedMediaType = () =>
  new ApiError(415, "unsupported-media-type", "Unsupported media type", "send the body as application/json");
export const unprocessable = (detail: string, errors?: FieldError[]) =>
  new ApiError(422, "validation-failed", "Validation failed", detail, errors);
export const tooManyRequests = (detail: string, retryAfterS: number) =>
  new ApiError(429, "too-many-requests", "Too many requests", detail, undefined, { "retry-after": String(retryAfterS) });
export const unavailable = (detail: string) => new ApiError(503, "unavailable", "Service unavailable", detail);

export function problemResponse(problem: Problem, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
  });
}

export function apiErrorResponse(error: ApiError, instance?: string): Response {
  return problemResponse(error.toProblem(instance), error.headers);
}
