// The header's right side: who is signed in and their escrow, or a sign-in link.
import { AccountInfo } from "../../protocol/account.ts";
import { requestJson } from "../api/http.ts";
import { formatEth } from "../format/wei.ts";
import { shortHex } from "../format/units.ts";
import { usePoll } from "../live/usePoll.ts";
import { apiKey, signOut } from "../session.ts";

export function SessionBar() {
  const signedIn = apiKey() !== null;
  const account = usePoll((signal) => (signedIn ? requestJson(AccountInfo, "/v1/account", { auth: true, signal }) : Promise.resolve(undefined)), 15_000);
  if (!signedIn) {
    if (document.body.dataset.page === "sign-in") return null;
    return <a class="button button-small" href={`/sign-in?next=${encodeURIComponent(location.pathname)}`}>Sign in</a>;
  }
  const onSignOut = () => {
    signOut();
    location.assign("/");
  };
  return (
    <div class="session" data-testid="session">
      {account.data ? (
        <span title={account.data.address}>
          <span class="mono">{shortHex(account.data.address)}</span>
          <span class="muted"> · escrow </span>
          <span data-testid="escrow-available">{formatEth(account.data.escrow.available_wei)}</span>
          <span class="muted"> free</span>
        </span>
      ) : account.error ? (
        <span class="muted">key refused</span>
      ) : null}
      <button type="button" class="button button-small button-quiet" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}
