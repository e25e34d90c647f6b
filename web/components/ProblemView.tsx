// What a page shows when it cannot show its content: not signed in, not found
// (which is also what another creator's job looks like), or a failure.
import { ApiProblem, NotSignedIn } from "../api/http.ts";

export function ProblemView(props: { error: Error; what?: string }) {
  const { error } = props;
  if (error instanceof NotSignedIn) {
    return (
      <section class="notice" data-testid="not-signed-in">
        <h2>Sign in first</h2>
        <p>
          This page shows a creator's own jobs. <a href={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`}>Sign in</a> with
          your wallet or an API key.
        </p>
      </section>
    );
  }
  if (error instanceof ApiProblem && error.status === 404) {
    return (
      <section class="notice" data-testid="not-found">
        <h2>404 · Not found</h2>
        <p>{props.what ?? "This"} was not found among yours. Jobs and deliveries are visible only to the creator who made them.</p>
      </section>
    );
  }
  if (error instanceof ApiProblem && error.status === 401) {
    return (
      <section class="notice" data-testid="key-refused">
        <h2>Your key was refused</h2>
        <p>{error.message}. <a href="/sign-in">Sign in again</a>.</p>
      </section>
    );
  }
  return (
    <section class="notice notice-error" data-testid="error">
      <h2>Something went wrong</h2>
      <p>{error.message}</p>
    </section>
  );
}
