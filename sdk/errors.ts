// What the SDK throws when the API says no: the RFC 9457 problem, as sent.
import { Problem } from "../protocol/problem.ts";

export class PondApiError extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.title} (${problem.status}): ${problem.detail}`);
    this.name = "PondApiError";
  }
  get status(): number {
    return this.problem.status;
  }
}

/** The problem in a failed response's body, or one made from its status when the body is not one. */
export function problemFrom(response: Response, text: string): Problem {
  const parsed = Problem.safeParse(safeJson(text));
  if (parsed.success) return parsed.data;
  return { type: "about:blank", title: response.statusText || "Error", status: response.status, detail: text.slice(0, 500) || `HTTP ${response.status}` };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
