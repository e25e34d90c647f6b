// Calls to Pond's API from the page: the key as a Bearer header, every answer
// parsed with the protocol's schemas, every refusal turned into an ApiProblem.
import type { z } from "zod";
import { Problem } from "../../protocol/problem.ts";
import { apiKey } from "../session.ts";

export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = "ApiProblem";
  }
  get status(): number {
    return this.problem.status;
  }
}

/** A creator page was opened without a key in this tab. */
export class NotSignedIn extends Error {
  override name = "NotSignedIn";
  constructor() {
    super("Sign in to see this page.");
  }
}

export interface RequestOptions {
  method?: "GET" | "POST";
  body?: unknown;
  /** Send the signed-in creator's key. */
  auth?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function apiRequest(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.auth) {
    const key = apiKey();
    if (!key) throw new NotSignedIn();
    headers.authorization = `Bearer ${key}`;
  }
  const response = await fetch(path, {
    method: options.method ?? "GET",
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (!response.ok) throw await problemOf(response);
  return response;
}

export async function requestJson<S extends z.ZodType>(schema: S, path: string, options: RequestOptions = {}): Promise<z.infer<S>> {
  const response = await apiRequest(path, options);
  return schema.parse(await response.json());
}

async function problemOf(response: Response): Promise<ApiProblem> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): described from the status below.
  }
  const parsed = Problem.safeParse(body);
  return new ApiProblem(parsed.success ? parsed.data : { type: "about:blank", title: response.statusText || "Error", status: response.status, detail: `the server answered ${response.status}` });
}
