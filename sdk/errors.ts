// What the SDK throws when the API says no (the RFC 9457 problem, as sent), or
// does less than it was asked.
import type { Job } from "../protocol/job.ts";
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

/**
 * A batch created with `stopEarly` by an API that did not take it (one older than this SDK leaves the
 * field out of its answer): the jobs exist, here, and each will run to its end.
 */
export class StopEarlyIgnoredError extends Error {
  constructor(readonly jobs: Job[]) {
    super(`the API created the ${jobs.length} jobs but did not take stop_early (it is older than this SDK): each will run to its end`);
    this.name = "StopEarlyIgnoredError";
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
