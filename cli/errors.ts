// How the CLI reports a failure: one line, `pond: <what went wrong>`, that says
// what to do next; the stack only with POND_DEBUG set, for reporting a bug.
import { BaseError } from "viem";
import { PondApiError } from "../sdk/index.ts";

/** A mistake the user can fix (a missing flag, not logged in): only its message is shown. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The one line to print for `error`, without the `pond: ` prefix. */
export function describeCliError(error: unknown): string {
  if (error instanceof PondApiError) {
    const fields = error.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join("") ?? "";
    return `${error.message}${fields}`;
  }
  // viem's message carries docs links and request dumps; its shortMessage is the sentence.
  if (error instanceof BaseError) return error.details && !error.shortMessage.includes(error.details) ? `${error.shortMessage} (${error.details})` : error.shortMessage;
  if (error instanceof TypeError && /fetch failed/.test(error.message)) {
    return `cannot reach the API (${(error.cause as Error | undefined)?.message ?? error.message})`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

export function reportCliError(error: unknown, debug: boolean): void {
  console.error(`pond: ${describeCliError(error)}`);
  if (debug && error instanceof Error && error.stack) console.error(error.stack);
}
