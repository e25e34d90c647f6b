// What the API may answer a hostile request: a 4xx problem+json that names the
// problem, or a success the document lists. Anything else is a finding.
import { Problem, PROBLEM_CONTENT_TYPE } from "../../../protocol/problem.ts";
import type { RawAnswer } from "./rawRequest.ts";

/** Why `answer` is not acceptable, or undefined when it is. `successes`: the 2xx/3xx statuses documented for this method. */
export function faultIn(answer: RawAnswer, successes: Set<number>): string | undefined {
  if (answer.kind === "hang") return `no answer within ${answer.afterMs} ms`;
  if (answer.kind === "refused") return `the connection ended without an answer: ${answer.error}`;
  const { status, contentType, body } = answer;
  if (status >= 500) return `answered ${status}: ${body.slice(0, 500)}`;
  if (status < 400) return successes.has(status) ? undefined : `answered ${status}, which the document does not list`;
  if (!contentType.toLowerCase().startsWith(PROBLEM_CONTENT_TYPE)) return `answered ${status} as "${contentType}", not ${PROBLEM_CONTENT_TYPE}: ${body.slice(0, 300)}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `answered ${status} with a problem body that is not JSON: ${body.slice(0, 300)}`;
  }
  const problem = Problem.safeParse(parsed);
  if (!problem.success) return `answered ${status} with a body that is not a problem: ${body.slice(0, 300)}`;
  if (problem.data.status !== status) return `answered ${status} with a problem that says status ${problem.data.status}`;
  if (problem.data.detail.trim().length === 0) return `answered ${status} with a problem that does not say what is wrong`;
  return undefined;
}
