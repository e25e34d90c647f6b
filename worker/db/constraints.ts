// D1 names a violated constraint only in its error message, sometimes on a
// wrapped cause (drizzle wraps the driver's error).
export function violatesConstraint(error: unknown, constraint: RegExp): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (constraint.test(cause.message)) return true;
  }
  return false;
}
