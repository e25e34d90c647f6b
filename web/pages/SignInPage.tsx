// Sign in with the browser's wallet (SIWE) or by pasting an API key. The key
// stays in this tab's sessionStorage and is sent only as a Bearer header.
import { useState } from "hono/jsx/dom";
import { AccountInfo } from "../../protocol/account.ts";
import { requestJson } from "../api/http.ts";
import { injectedWallet, signInWithWallet } from "../api/wallet.ts";
import { saveApiKey, signOut } from "../session.ts";

/** Only a path on this site: never an open redirect. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get("next") ?? "/jobs";
  return next.startsWith("/") && !next.startsWith("//") ? next : "/jobs";
}

async function finish(key: string): Promise<void> {
  saveApiKey(key);
  try {
    await requestJson(AccountInfo, "/v1/account", { auth: true });
  } catch (error) {
    signOut();
    throw error;
  }
  location.assign(nextPath());
}

export function SignInPage() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const wallet = injectedWallet();
  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
      setBusy(false);
    }
  };
  const onWallet = () => void run(async () => finish(await signInWithWallet(wallet!)));
  const onKey = (event: Event) => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem("key") as HTMLInputElement;
    void run(() => finish(input.value));
  };
  return (
    <div class="stack narrow">
      <section class="card">
        <h2>With your wallet</h2>
        <p class="muted">Signs a Sign-In with Ethereum message; no transaction, no gas. Pond answers with an API key for this tab.</p>
        {wallet ? (
          <button type="button" class="button button-primary" data-testid="wallet-sign-in" disabled={busy} onClick={onWallet}>Sign in with wallet</button>
        ) : (
          <p class="muted" data-testid="no-wallet">No wallet found in this browser.</p>
        )}
      </section>
      <section class="card">
        <h2>With an API key</h2>
        <form onSubmit={onKey} data-testid="key-form">
          <label class="field">
            API key
            <input name="key" type="password" autocomplete="off" spellcheck={false} placeholder="pond_sk_…" required />
          </label>
          <button type="submit" class="button button-primary" disabled={busy}>Sign in</button>
        </form>
        <p class="muted small">Get one with <code>npm run pond -- login</code>. It is kept only in this tab (sessionStorage) and sent only as an Authorization header.</p>
      </section>
      {error ? <p class="notice notice-error" role="alert" data-testid="sign-in-error">{error}</p> : null}
    </div>
  );
}
